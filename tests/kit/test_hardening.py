"""Edge cases found in review: streaming with Idempotency-Key, attempts that lose their key,
revoked tokens, bodies on every method, malformed headers, readers and writers on SQLite,
token files under concurrency."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update

from flightdeck.kit import idempotency, idempotent_posts
from flightdeck.kit.auth import Role, TokenStore, create_token, read_tokens, revoke_token
from flightdeck.kit.db import create_engine, session_factory
from flightdeck.kit.idempotency import Claim, IdempotencyStore, Outcome, SupersededAttempt
from flightdeck.kit.tables import idempotency_keys
from flightdeck.kit.testing import Tokens, context_of
from flightdeck.kit.uow import UnitOfWork
from tests.kit import sample
from tests.kit.test_http import ENTRY, assert_problem, ledger_size

QUIET = {"relay_enabled": False, "consumer_enabled": False}


def post_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """An ASGI scope for a raw POST, for what an HTTP client library will not send."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("sample", 80),
        "state": {},
    }


async def test_streamed_responses_survive_an_idempotency_key(
    start_sample: Any, tokens: Tokens
) -> None:
    headers = {**tokens.headers("vic", "viewer"), "Idempotency-Key": "export-1"}
    async with start_sample(**QUIET) as client:
        first = await client.post("/ledger/export", headers=headers)
        again = await client.post("/ledger/export", headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.text.count("\n") == 200
    assert again.text == first.text
    assert again.headers["idempotent-replayed"] == "true"


async def test_a_revoked_token_gets_no_replay(start_sample: Any, tokens: Tokens) -> None:
    token, entry = create_token(tokens.path, "temp", [Role.RELEASER])
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "k-revoked"}
    async with start_sample(**QUIET) as client:
        assert (await client.post("/ledger", json=ENTRY, headers=headers)).status_code == 201
        revoke_token(tokens.path, entry["id"])
        await asyncio.sleep(1.1)  # tokens are re-read at most once a second
        assert_problem(await client.post("/ledger", json=ENTRY, headers=headers), 401)
        assert await ledger_size(client) == 1


async def test_webhook_paths_are_not_deduplicated_by_idempotency_key(start_sample: Any) -> None:
    async with start_sample(**QUIET) as client:
        for _ in range(2):
            response = await client.post(
                "/webhooks/ping", content=b"{}", headers={"Idempotency-Key": "same"}
            )
        assert response.json() == {"pings": 2}


async def _claims_db(databases: Any) -> Any:
    return create_engine(await databases.create("claims", metadata=[sample.metadata]))


async def test_an_attempt_whose_key_was_taken_over_cannot_commit(databases: Any) -> None:
    engine = await _claims_db(databases)
    store = IdempotencyStore(engine)
    first, second = Claim("caller", "k", "attempt-1"), Claim("caller", "k", "attempt-2")
    try:
        assert (await store.begin(first, "same"))[0] is Outcome.NEW
        assert (await store.begin(second, "same"))[0] is Outcome.IN_PROGRESS
        async with engine.begin() as conn:  # the first attempt has run for too long
            stale = idempotency.IN_PROGRESS_TIMEOUT + timedelta(seconds=1)
            await conn.execute(
                update(idempotency_keys).values(created_at=datetime.now(UTC) - stale)
            )
        assert (await store.begin(second, "same"))[0] is Outcome.NEW
        first.task = asyncio.current_task()
        token = idempotency.current_claim.set(first)
        try:
            async with UnitOfWork(session_factory(engine)) as uow:
                await uow.session.execute(
                    insert(sample.ledger).values(
                        id="x", name="late", planned_start=sample_time(), created_by="a"
                    )
                )
                with pytest.raises(SupersededAttempt):
                    await uow.commit()
        finally:
            idempotency.current_claim.reset(token)
        async with engine.connect() as conn:
            assert (await conn.execute(sample.ledger.select())).all() == []
    finally:
        await engine.dispose()


async def test_a_committed_request_is_never_run_again(databases: Any) -> None:
    engine = await _claims_db(databases)
    store = IdempotencyStore(engine)
    claim = Claim("caller", "k2", "attempt-1")
    try:
        assert (await store.begin(claim, "body"))[0] is Outcome.NEW
        claim.task = asyncio.current_task()
        token = idempotency.current_claim.set(claim)
        try:
            async with UnitOfWork(session_factory(engine)) as uow:
                await uow.commit()  # the state committed, then the process died
        finally:
            idempotency.current_claim.reset(token)
        async with engine.begin() as conn:
            stale = idempotency.IN_PROGRESS_TIMEOUT + timedelta(seconds=1)
            await conn.execute(
                update(idempotency_keys).values(created_at=datetime.now(UTC) - stale)
            )
        assert (await store.begin(Claim("caller", "k2", "attempt-2"), "body"))[
            0
        ] is Outcome.UNRECORDED
    finally:
        await engine.dispose()


def sample_time() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 4, 1, tzinfo=UTC)


async def test_every_method_with_a_body_is_limited_and_must_be_json(
    start_sample: Any, tokens: Tokens
) -> None:
    headers = tokens.headers("rita", "releaser")
    async with start_sample(max_body_bytes=1024, **QUIET) as client:
        big = await client.request(
            "DELETE",
            "/ledger",
            content=b"x" * 5000,
            headers={**headers, "content-type": "application/json"},
        )
        assert_problem(big, 413)
        form = await client.request(
            "DELETE", "/ledger", content=b"a=1", headers={**headers, "content-type": "text/plain"}
        )
        assert_problem(form, 415)
        assert (await client.delete("/ledger", headers=headers)).status_code == 200


@pytest.mark.parametrize("length", ["²", "12abc", "9" * 5000])
async def test_a_malformed_content_length_is_400(start_sample: Any, length: str) -> None:
    async with start_sample(**QUIET) as client:
        app = client.app
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"{}", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = post_scope(
            "/ledger",
            [
                (b"content-length", length.encode("latin-1", "replace")),
                (b"content-type", b"application/json"),
            ],
        )
        await app(scope, receive, send)
    assert sent[0]["status"] == 400


async def test_reads_do_not_wait_for_a_writer_on_sqlite(
    start_sample: Any, tokens: Tokens, backend: str
) -> None:
    async with start_sample(**QUIET) as client:
        engine = context_of(client.app).engine
        async with engine.begin() as writer:  # holds SQLite's write lock (BEGIN IMMEDIATE)
            await writer.execute(update(sample.ledger).values(name="x"))
            listing = await asyncio.wait_for(
                client.get("/ledger", headers=tokens.headers("vic", "viewer")), 5
            )
            ready = await asyncio.wait_for(client.get("/readyz"), 5)
        assert listing.status_code == 200
        assert ready.json()["checks"]["database"] == "ok"


async def test_dead_letters_answer_503_while_the_broker_is_away(
    start_sample: Any, kafka: Any, tokens: Tokens
) -> None:
    from flightdeck.events.embedded import free_port

    away = kafka.model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{free_port()}", "request_timeout_ms": 1000}
    )
    async with start_sample(kafka_settings=away, **QUIET) as client:
        response = await client.get("/admin/dlq", headers=tokens.headers("ops", "operator"))
    body = assert_problem(response, 503)
    assert "broker" in body["detail"]


def _mint(path: str, count: int) -> list[str]:
    return [create_token(Path(path), f"p{os.getpid()}", [Role.VIEWER])[0] for _ in range(count)]


def test_concurrent_token_creation_keeps_every_token(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        minted = [t for batch in pool.starmap(_mint, [(str(path), 25)] * 4) for t in batch]
    store = TokenStore(path)
    assert len(read_tokens(path)["tokens"]) == 100
    assert all(store.authenticate(token) is not None for token in minted)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_rewrite_with_the_same_size_and_time_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    old_token, old = create_token(path, "same", [Role.VIEWER])
    store = TokenStore(path, recheck_seconds=0)
    assert store.authenticate(old_token) is not None
    stat = path.stat()
    document = read_tokens(path)
    new_token = "fd_" + "y" * 43
    document["tokens"][0]["sha256"] = __import__("hashlib").sha256(new_token.encode()).hexdigest()
    path.write_text(json.dumps(document, indent=2) + "\n")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size
    assert store.authenticate(old_token) is None
    assert store.authenticate(new_token) is not None
    assert old["id"] == document["tokens"][0]["id"]


@pytest.mark.parametrize(
    "content", ['{"tokens": null}', '{"tokens": 5}', "[]", '{"tokens": [{"subject": 1}]}']
)
def test_a_malformed_tokens_file_rejects_tokens_without_crashing(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(content)
    assert TokenStore(path).authenticate("fd_anything") is None


def test_a_revoked_admin_token_is_replaced_by_make_run(tmp_path: Path) -> None:
    from flightdeck.cli.stack import admin_token

    tokens_file = tmp_path / "tokens.json"
    token, created = admin_token(tmp_path, tokens_file)
    assert created
    assert oct((tmp_path / "admin.token").stat().st_mode & 0o777) == "0o600"
    assert admin_token(tmp_path, tokens_file) == (token, False)
    revoke_token(tokens_file, read_tokens(tokens_file)["tokens"][0]["id"])
    replacement, created = admin_token(tmp_path, tokens_file)
    assert created
    assert replacement != token
    assert TokenStore(tokens_file).authenticate(replacement) is not None


async def test_work_a_request_started_commits_despite_its_idempotency_key(
    start_sample: Any, tokens: Tokens
) -> None:
    headers = {**tokens.headers("rita", "releaser"), "Idempotency-Key": "follow-up-1"}
    async with start_sample(**QUIET) as client:
        response = await client.post("/ledger/follow-up", json=ENTRY, headers=headers)
        assert response.status_code == 202
        await asyncio.gather(*sample.FOLLOW_UPS)
        results = [task.exception() for task in sample.FOLLOW_UPS]
        sample.FOLLOW_UPS.clear()
        assert results == [None]
        assert await ledger_size(client) == 1


@pytest.mark.parametrize("tx", [True, False], ids=["context.transaction", "bare engine"])
async def test_a_request_that_committed_then_failed_is_not_run_again(
    start_sample: Any, tokens: Tokens, tx: bool
) -> None:
    headers = {**tokens.headers("rita", "releaser"), "Idempotency-Key": f"core-{tx}"}
    url = f"/ledger/core?fail_after=true&tx={str(tx).lower()}"
    async with start_sample(**QUIET) as client:
        assert_problem(await client.post(url, json=ENTRY, headers=headers), 500)
        retry = await client.post(url, json=ENTRY, headers=headers)
        body = assert_problem(retry, 409)
        assert "carried out" in body["detail"]
        assert await ledger_size(client) == 1


async def test_a_client_gone_mid_upload_leaves_its_key_unused(
    start_sample: Any, tokens: Tokens
) -> None:
    headers = [
        (b"authorization", tokens.headers("rita", "releaser")["Authorization"].encode()),
        (b"idempotency-key", b"dropped-1"),
        (b"content-type", b"application/json"),
    ]
    async with start_sample(**QUIET) as client:
        messages = iter(
            [
                {"type": "http.request", "body": b'{"name": "spr', "more_body": True},
                {"type": "http.disconnect"},
            ]
        )

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            raise AssertionError(f"nothing should be sent to a client that left: {message}")

        scope = post_scope("/ledger", headers)
        await client.app(scope, receive, send)
        full = await client.post(
            "/ledger",
            json=ENTRY,
            headers={**tokens.headers("rita", "releaser"), "Idempotency-Key": "dropped-1"},
        )
        assert full.status_code == 201


async def test_large_responses_are_not_kept_and_run_again(
    start_sample: Any, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotent_posts, "MAX_STORED_BYTES", 100)
    headers = {**tokens.headers("vic", "viewer"), "Idempotency-Key": "big-export"}
    async with start_sample(**QUIET) as client:
        first = await client.post("/ledger/export", headers=headers)
        again = await client.post("/ledger/export", headers=headers)
        assert first.status_code == again.status_code == 200
        assert "idempotent-replayed" not in again.headers
        assert again.text == first.text


async def test_the_response_is_kept_before_background_tasks_end(
    start_sample: Any, tokens: Tokens
) -> None:
    headers = {**tokens.headers("rita", "releaser"), "Idempotency-Key": "slow-tail"}
    async with start_sample(**QUIET) as client:
        first = asyncio.create_task(client.post("/ledger/slow-tail", json=ENTRY, headers=headers))
        await asyncio.sleep(0.4)  # the response is out; the background task still runs
        retry = await client.post("/ledger/slow-tail", json=ENTRY, headers=headers)
        await first
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"


async def test_tokens_without_ids_scope_keys_by_subject(start_sample: Any, backend: str) -> None:
    import hashlib

    subject = "integration-" + "x" * 120
    inline = json.dumps(
        {
            "tokens": [
                {
                    "subject": subject,
                    "roles": ["releaser"],
                    "sha256": hashlib.sha256(b"fd_inline").hexdigest(),
                }
            ]
        }
    )
    headers = {"Authorization": "Bearer fd_inline", "Idempotency-Key": "inline-1"}
    async with start_sample(tokens_json=inline, **QUIET) as client:
        first = await client.post("/ledger", json=ENTRY, headers=headers)
        again = await client.post("/ledger", json=ENTRY, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
