"""ASGI middleware every service runs: body limits, content types, request context and
request metrics. Plain ASGI (not BaseHTTPMiddleware) keeps the hot path cheap."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flightdeck.events import logcontext
from flightdeck.kit.problems import Problem, invalid, problem_response

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DIGITS = re.compile(r"[0-9]{1,15}")
access_log = logging.getLogger("flightdeck.access")


class BodyTooLarge(HTTPException):
    """The request body is over the limit (an HTTPException so that FastAPI's body parsing
    lets it through instead of turning it into a 400)."""

    def __init__(self, limit: int) -> None:
        detail = f"request body is larger than {limit} bytes"
        super().__init__(413, detail)
        self.problem = Problem(413, detail, slug="body-too-large")


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_problem(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    """Answer with a problem document straight from middleware."""
    await problem_response(problem, scope.get("path"))(scope, receive, send)


class BodyLimit:
    """413 before parsing: by Content-Length when given, else while the body streams in."""

    def __init__(
        self, app: ASGIApp, *, limit: int, large_limit: int, large_prefixes: Sequence[str]
    ) -> None:
        self.app = app
        self.limit = limit
        self.large_limit = large_limit
        self.large_prefixes = tuple(large_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.large_limit if under(scope["path"], self.large_prefixes) else self.limit
        declared = header(scope, b"content-length")
        if declared is not None and not _DIGITS.fullmatch(declared):
            problem = Problem(400, "Content-Length is not a number", slug="bad-content-length")
            await send_problem(scope, receive, send, problem)
            return
        if declared is not None and int(declared) > limit:
            await send_problem(scope, receive, send, BodyTooLarge(limit).problem)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if not started:
                await send_problem(scope, receive, send, exc.problem)


class JsonOnly:
    """415 for a write whose body is not JSON (raw-body paths such as webhooks excepted)."""

    def __init__(self, app: ASGIApp, *, raw_prefixes: Sequence[str]) -> None:
        self.app = app
        self.raw_prefixes = tuple(raw_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in BODYLESS_METHODS
            and not under(scope["path"], self.raw_prefixes)
            and _has_body(scope)
        ):
            media = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                problem = Problem(
                    415,
                    f"expected a JSON body (Content-Type: application/json), got {media or 'none'}",
                    slug="unsupported-media-type",
                )
                await send_problem(scope, receive, send, problem)
                return
        await self.app(scope, receive, send)


class NulRefused:
    """422 for text holding NUL characters, in the path, the query or a JSON body.

    PostgreSQL cannot store U+0000 in text; refusing it at the door keeps it from becoming a
    database error deep in a request. JSON bodies (at most the body limit) are read whole,
    checked, and handed on unchanged; raw-body paths (webhooks) are left to their handlers.
    """

    def __init__(self, app: ASGIApp, *, raw_prefixes: Sequence[str]) -> None:
        self.app = app
        self.raw_prefixes = tuple(raw_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = []
        if "\x00" in scope["path"]:
            where.append("path")
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in query or b"%00" in query.lower():
            pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            where += [f"query.{key}" for key, value in pairs if "\x00" in key + value] or ["query"]
        if (
            scope["method"] not in BODYLESS_METHODS
            and not under(scope["path"], self.raw_prefixes)
            and _has_body(scope)
        ):
            messages = [await receive()]
            while messages[-1]["type"] == "http.request" and messages[-1].get("more_body"):
                messages.append(await receive())
            where += nul_locations(b"".join(m.get("body", b"") for m in messages))
            receive = _replaying(messages, receive)
        if where:
            message = "text may not contain NUL characters (PostgreSQL cannot store them)"
            errors = [{"location": at, "message": message, "type": "nul_character"} for at in where]
            await send_problem(
                scope, receive, send, invalid("NUL characters in the request", errors)
            )
            return
        await self.app(scope, receive, send)


def nul_locations(body: bytes) -> list[str]:
    """Where a JSON body holds NUL characters, as `body.field.0` locations (`body` when the
    body does not parse: the JSON parser reports it then)."""
    if b"\x00" not in body and b"\\u0000" not in body:
        return []  # the common case, decided without parsing
    try:
        document = json.loads(body)
    except ValueError:
        return ["body"] if b"\x00" in body else []
    found: list[str] = []

    def walk(value: Any, at: str) -> None:
        if isinstance(value, str):
            if "\x00" in value:
                found.append(at)
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    found.append(at)  # a field name holding NUL: the object is at fault
                else:
                    walk(item, f"{at}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{at}.{index}")

    walk(document, "body")
    return found


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out `messages` first, then defers to `receive`."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def under(path: str, prefixes: Sequence[str]) -> bool:
    """Whether `path` is one of `prefixes` or below one (on segment boundaries)."""
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _has_body(scope: Scope) -> bool:
    length = header(scope, b"content-length")
    if length is not None:
        return length != "0"
    return header(scope, b"transfer-encoding") is not None


class RequestContext:
    """Request and correlation ids on every log line, and request metrics by route."""

    def __init__(self, app: ASGIApp, *, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "flightdeck_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "flightdeck_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = header(scope, b"x-request-id")
        request_id = offered if offered and _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        correlation_id = header(scope, b"x-correlation-id")
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        facts: dict[str, str] = {}
        token = _request_facts.set(facts)
        with logcontext.bound(request_id=request_id, correlation_id=correlation_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
                self.requests.labels(method, route, str(status)).inc()
                self.latency.labels(method, route).observe(elapsed)
                _request_facts.reset(token)
                _access_log(scope, route, status, elapsed, facts.get("subject"))


QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
_request_facts: ContextVar[dict[str, str] | None] = ContextVar("flightdeck_request", default=None)


def note_subject(subject: str) -> None:
    """Record who is calling, for the access log line (works from worker threads too:
    the dict is shared, only the variable is copied)."""
    facts = _request_facts.get()
    if facts is not None:
        facts["subject"] = subject


def _access_log(scope: Scope, route: str, status: int, elapsed: float, subject: str | None) -> None:
    level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    access_log.log(
        level,
        "%s %s %d",
        scope["method"],
        scope["path"],
        status,
        extra={
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "subject": subject,
        },
    )
