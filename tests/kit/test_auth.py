"""Tokens: hashed at rest, picked up without restart, minted by the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flightdeck.cli.main import app
from flightdeck.kit.auth import (
    Role,
    TokenStore,
    create_token,
    hash_token,
    read_tokens,
    revoke_token,
)


def test_tokens_are_stored_hashed_and_map_to_subject_and_roles(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    token, entry = create_token(path, "alice", [Role.RELEASER, Role.APPROVER])
    stored = path.read_text()
    assert token not in stored
    assert json.loads(stored)["tokens"][0]["sha256"] == hash_token(token)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    principal = TokenStore(path).authenticate(token)
    assert principal is not None
    assert principal.subject == "alice"
    assert principal.roles == {Role.RELEASER, Role.APPROVER}
    assert principal.has(Role.VIEWER)
    assert not principal.has(Role.ADMIN)
    assert entry["id"] == principal.token_id
    assert TokenStore(path).authenticate(token + "x") is None


def test_a_changed_file_is_picked_up_without_restart(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = TokenStore(path, recheck_seconds=0)
    token, entry = create_token(path, "bob", [Role.OPERATOR])
    assert store.authenticate(token) is not None
    time.sleep(0.01)
    assert revoke_token(path, entry["id"])
    assert store.authenticate(token) is None


def test_inline_tokens_from_the_environment(tmp_path: Path) -> None:
    inline = json.dumps(
        {"tokens": [{"subject": "ci", "roles": ["operator"], "sha256": hash_token("fd_ci")}]}
    )
    store = TokenStore(tmp_path / "absent.json", inline)
    principal = store.authenticate("fd_ci")
    assert principal is not None
    assert principal.subject == "ci"


def test_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    runner = CliRunner()
    created = runner.invoke(
        app,
        [
            "token",
            "create",
            "--subject",
            "carol",
            "--role",
            "cab",
            "--role",
            "viewer",
            "--file",
            str(path),
        ],
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[0]
    assert token.startswith("fd_")
    principal = TokenStore(path).authenticate(token)
    assert principal is not None
    assert principal.roles == {Role.CAB, Role.VIEWER}
    listed = runner.invoke(app, ["token", "list", "--file", str(path)])
    assert "carol" in listed.stdout
    assert token not in listed.stdout
    bad = runner.invoke(
        app, ["token", "create", "--subject", "x", "--role", "wizard", "--file", str(path)]
    )
    assert bad.exit_code != 0
    token_id = json.loads(path.read_text())["tokens"][0]["id"]
    assert runner.invoke(app, ["token", "revoke", token_id, "--file", str(path)]).exit_code == 0
    assert TokenStore(path).authenticate(token) is None


def test_the_flightdeck_command_is_installed(tmp_path: Path) -> None:
    env = {**os.environ, "FLIGHTDECK_TOKENS_FILE": str(tmp_path / "t.json")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "flightdeck.cli.main",
            "token",
            "create",
            "--subject",
            "dave",
            "--role",
            "admin",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert result.stdout.startswith("fd_")
    assert "dave" in (tmp_path / "t.json").read_text()


@pytest.mark.parametrize("subject", ["x" * 101, "two\nlines", " padded", "tab\there"])
def test_a_subject_services_could_not_record_gets_no_token(tmp_path: Path, subject: str) -> None:
    path = tmp_path / "tokens.json"
    result = CliRunner().invoke(
        app, ["token", "create", "--subject", subject, "--role", "viewer", "--file", str(path)]
    )
    assert result.exit_code == 2
    assert "no token created" in result.output
    assert not path.exists() or read_tokens(path)["tokens"] == []
