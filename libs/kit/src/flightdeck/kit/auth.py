"""Bearer tokens: stored as SHA-256 hashes in a JSON file, each naming a subject and roles.

The file is re-read when it changes, so tokens created while services run work at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


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
    """Authenticates bearer tokens against the tokens file and optional inline JSON."""

    def __init__(
        self, path: Path | None, inline_json: str | None = None, recheck_seconds: float = 1.0
    ) -> None:
        self._path = path
        self._inline = _parse(json.loads(inline_json)) if inline_json else []
        self._recheck = recheck_seconds
        self._entries: list[_Entry] = list(self._inline)
        self._stamp: tuple[float, int] | None = None
        self._checked_at = 0.0
        self._reload()

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a token, or None. Compares in constant time."""
        self._maybe_reload()
        digest = hashlib.sha256(token.encode()).digest()
        found = self._find(digest)
        if found is None:  # perhaps created a moment ago: a stat is cheap
            self._reload()
            found = self._find(digest)
        return found

    def _find(self, digest: bytes) -> Principal | None:
        found: Principal | None = None
        for entry in self._entries:
            if hmac.compare_digest(entry.digest, digest):
                found = entry.principal
        return found

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked_at >= self._recheck:
            self._checked_at = now
            self._reload()

    def _reload(self) -> None:
        if self._path is None:
            return
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._entries, self._stamp = list(self._inline), None
            return
        stamp = (stat.st_mtime, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            document = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return  # a half-written file: keep the tokens we had and look again later
        self._entries = self._inline + _parse(document)
        self._stamp = stamp


def _parse(document: Any) -> list[_Entry]:
    entries = []
    for item in document.get("tokens", []) if isinstance(document, dict) else []:
        try:
            roles = frozenset(Role(r) for r in item["roles"])
            digest = bytes.fromhex(item["sha256"])
            principal = Principal(subject=item["subject"], roles=roles, token_id=item.get("id", ""))
        except (KeyError, ValueError, TypeError):
            continue
        entries.append(_Entry(digest=digest, principal=principal))
    return entries


def create_token(
    path: Path, subject: str, roles: Iterable[Role | str]
) -> tuple[str, dict[str, Any]]:
    """Add a new token to the file; returns the token (shown once) and its stored entry."""
    role_list = sorted({Role(r).value for r in roles})
    if not role_list:
        raise ValueError("a token needs at least one role")
    if not subject.strip():
        raise ValueError("a token needs a subject")
    token = "fd_" + secrets.token_urlsafe(32)
    entry = {
        "id": "tok_" + secrets.token_hex(6),
        "subject": subject,
        "roles": role_list,
        "sha256": hash_token(token),
        "created_at": datetime.now(UTC).isoformat(),
    }
    document = read_tokens(path)
    document["tokens"].append(entry)
    _write_atomically(path, document)
    return token, entry


def revoke_token(path: Path, token_id: str) -> bool:
    """Remove a token by id; False when there was none."""
    document = read_tokens(path)
    kept = [t for t in document["tokens"] if t.get("id") != token_id]
    if len(kept) == len(document["tokens"]):
        return False
    _write_atomically(path, {"tokens": kept})
    return True


def read_tokens(path: Path) -> dict[str, Any]:
    """The tokens file's content (empty when absent)."""
    if not path.exists():
        return {"tokens": []}
    document = json.loads(path.read_text())
    document.setdefault("tokens", [])
    return dict(document)


def _write_atomically(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
