"""Bearer tokens: stored as SHA-256 hashes in a JSON file, each naming a subject and roles.

The file is re-read when it changes, so tokens created while services run work at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Role(StrEnum):
    VIEWER = "viewer"
    RELEASER = "releaser"
    APPROVER = "approver"
    CAB = "cab"
    SENIOR_OPS = "senior_ops"
    OPERATOR = "operator"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's subject and roles."""

    subject: str
    roles: frozenset[Role]
    token_id: str

    def has(self, role: Role) -> bool:
        """Admin holds every role; every role may read."""
        return Role.ADMIN in self.roles or role in self.roles or role is Role.VIEWER

    def has_any(self, roles: Iterable[Role]) -> bool:
        """Whether the principal holds at least one of `roles`."""
        return any(self.has(role) for role in roles)


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    principal: Principal


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Authenticates bearer tokens against the tokens file and optional inline JSON.

    The file is read again once a second, and on an unknown token, and its tokens replaced
    when its content changed.
    """

    def __init__(
        self, path: Path | None, inline_json: str | None = None, recheck_seconds: float = 1.0
    ) -> None:
        self._path = path
        self._inline = _parse(json.loads(inline_json)) if inline_json else []
        self._recheck = recheck_seconds
        self._entries: list[_Entry] = list(self._inline)
        self._fingerprint: bytes | None = None
        self._broken: bytes | None = None
        self._checked_at = 0.0
        self._reload()

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a token, or None. Compares in constant time."""
        self._reload_after(self._recheck)
        digest = hashlib.sha256(token.encode()).digest()
        found = self._find(digest)
        if found is None and self._reload():
            found = self._find(digest)  # created a moment ago (reading the small file is cheap)
        return found

    def _find(self, digest: bytes) -> Principal | None:
        found: Principal | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry.principal
        return found

    def _reload_after(self, seconds: float) -> bool:
        now = time.monotonic()
        if now - self._checked_at < seconds:
            return False
        self._checked_at = now
        return self._reload()

    def _reload(self) -> bool:
        """Re-read the file; True when the tokens changed."""
        if self._path is None:
            return False
        try:
            content = self._path.read_bytes()
        except FileNotFoundError:
            content = b""
        except OSError as exc:
            log.warning("cannot read the tokens file %s: %s", self._path, exc)
            return False  # keep the tokens we had
        fingerprint = hashlib.sha256(content).digest()
        if fingerprint == self._fingerprint:
            return False
        try:
            document = json.loads(content) if content else {"tokens": []}
        except ValueError as exc:
            if fingerprint != self._broken:  # once per version of the file, not per request
                log.warning(
                    "the tokens file %s is not valid JSON (%s); keeping the tokens read before",
                    self._path,
                    exc,
                )
                self._broken = fingerprint
            return False
        self._entries = self._inline + _parse(document)
        self._fingerprint = fingerprint
        return True


def _parse(document: Any) -> list[_Entry]:
    items = document.get("tokens") if isinstance(document, dict) else None
    entries = []
    for item in items if isinstance(items, list) else []:
        try:
            roles = frozenset(Role(r) for r in item["roles"])
            digest = bytes.fromhex(item["sha256"])
            principal = Principal(
                subject=str(item["subject"]), roles=roles, token_id=str(item.get("id", ""))
            )
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
        entries.append(_Entry(digest=digest, principal=principal))
    return entries


MAX_SUBJECT_LENGTH = 100
"""Services store subjects in columns sized for this."""


def create_token(
    path: Path, subject: str, roles: Iterable[Role | str]
) -> tuple[str, dict[str, Any]]:
    """Add a new token to the file; returns the token (shown once) and its stored entry."""
    role_list = sorted({Role(r).value for r in roles})
    if not role_list:
        raise ValueError("a token needs at least one role")
    if not subject.strip():
        raise ValueError("a token needs a subject")
    if len(subject) > MAX_SUBJECT_LENGTH or not subject.isprintable() or subject != subject.strip():
        raise ValueError(
            f"a subject is one line of printable text, at most {MAX_SUBJECT_LENGTH} characters,"
            " without surrounding blanks (services record it on every change)"
        )
    token = "fd_" + secrets.token_urlsafe(32)
    entry = {
        "id": "tok_" + secrets.token_hex(6),
        "subject": subject,
        "roles": role_list,
        "sha256": hash_token(token),
        "created_at": datetime.now(UTC).isoformat(),
    }
    with _locked(path):
        document = read_tokens(path)
        document["tokens"].append(entry)
        _write_atomically(path, document)
    return token, entry


def revoke_token(path: Path, token_id: str) -> bool:
    """Remove a token by id; False when there was none."""
    with _locked(path):
        document = read_tokens(path)
        kept = [t for t in document["tokens"] if t.get("id") != token_id]
        if len(kept) == len(document["tokens"]):
            return False
        _write_atomically(path, {**document, "tokens": kept})
    return True


def read_tokens(path: Path) -> dict[str, Any]:
    """The tokens file's content (empty when absent)."""
    if not path.exists():
        return {"tokens": []}
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or not isinstance(document.get("tokens", []), list):
        raise ValueError(f"{path} is not a Flightdeck tokens file")
    document.setdefault("tokens", [])
    return document


def write_secret(path: Path, text: str) -> None:
    """Create `path` readable by its owner only, from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(0o600)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the tokens file across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, document: dict[str, Any]) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:  # mkstemp creates it 0600
            handle.write(json.dumps(document, indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
