"""`flightdeck`: run the platform, manage tokens, migrate, inspect dead letters, write schemas."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from flightdeck.cli.registry import ServiceName, all_services, service
from flightdeck.kit.auth import Role, create_token, read_tokens, revoke_token

app = typer.Typer(help="Flightdeck: release and deployment coordination.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (stored hashed in the tokens file).", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-lettered records of a consumer.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(dlq_app, name="dlq")


def _tokens_file(path: Path | None) -> Path:
    if path is not None:
        return path
    if env := os.environ.get("FLIGHTDECK_TOKENS_FILE"):
        return Path(env)
    return Path(os.environ.get("FLIGHTDECK_VAR_DIR", "var")) / "tokens.json"


TokensFile = Annotated[
    Path | None, typer.Option("--file", help="Tokens file (default var/tokens.json).")
]


@token_app.command("create")
def token_create(
    subject: Annotated[str, typer.Option(help="Who the token is for (recorded on every change).")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat for several.")],
    file: TokensFile = None,
) -> None:
    """Create a token and print it once; only its SHA-256 hash is stored."""
    path = _tokens_file(file)
    try:
        token, entry = create_token(path, subject, role)
    except ValueError as exc:
        typer.echo(f"no token created: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(token)
    typer.echo(
        f"# {entry['id']} for {subject} ({', '.join(entry['roles'])}) stored in {path}", err=True
    )


@token_app.command("list")
def token_list(file: TokensFile = None) -> None:
    """List tokens (ids, subjects and roles; never the tokens)."""
    path = _tokens_file(file)
    entries = read_tokens(path)["tokens"]
    for entry in entries:
        typer.echo(f"{entry.get('id', '?'):<18} {entry['subject']:<20} {','.join(entry['roles'])}")
    if not entries:
        typer.echo(f"no tokens in {path}", err=True)


@token_app.command("revoke")
def token_revoke(token_id: str, file: TokensFile = None) -> None:
    """Remove a token by id; running services stop accepting it within a second."""
    if not revoke_token(_tokens_file(file), token_id):
        typer.echo(f"no token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}")


@app.command()
def run(
    var_dir: Annotated[Path, typer.Option(envvar="FLIGHTDECK_VAR_DIR")] = Path("var"),
    broker_port: Annotated[int, typer.Option(envvar="FLIGHTDECK_BROKER_PORT")] = 9092,
    kafka: Annotated[
        str | None,
        typer.Option(
            envvar="FLIGHTDECK_EXTERNAL_KAFKA",
            help="Use this Kafka instead of the embedded broker.",
        ),
    ] = None,
) -> None:
    """Run the whole platform: embedded broker, SQLite databases, the six services."""
    from flightdeck.cli.stack import run as run_stack

    raise typer.Exit(asyncio.run(run_stack(var_dir.absolute(), broker_port, kafka)))


@app.command()
def serve(name: ServiceName) -> None:
    """Run one service in the foreground (configured by FLIGHTDECK_<SERVICE>_* variables)."""
    import uvicorn

    entry = service(name)
    settings = entry.settings()
    uvicorn.run(
        entry.create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@app.command()
def migrate(
    names: Annotated[list[str] | None, typer.Argument(help="Services (default all).")] = None,
) -> None:
    """Bring service databases to the latest schema."""
    from flightdeck.kit.migrations import upgrade

    entries = [service(n) for n in names] if names else all_services()

    async def go() -> None:
        for entry in entries:
            url = entry.settings().database_url
            await upgrade(entry.directory, url)
            typer.echo(f"{entry.name}: migrated {url}")

    asyncio.run(go())


@app.command()
def topics() -> None:
    """Create every Flightdeck topic on the configured broker."""
    from flightdeck.events.kafka import ensure_topics

    kafka = all_services()[0].settings().kafka()
    names = kafka.topics.all_topics()
    asyncio.run(ensure_topics(kafka, names))
    typer.echo("\n".join(names))


@dlq_app.command("list")
def dlq_list(consumer: ServiceName) -> None:
    """Print the dead letters of a consumer (a service name) as JSON lines."""
    from flightdeck.events.deadletters import read_dead_letters

    kafka = service(consumer).settings().kafka()
    letters = asyncio.run(read_dead_letters(kafka, consumer))
    for letter in letters:
        typer.echo(letter.summary().model_dump_json())
    if not letters:
        typer.echo(f"no dead letters for {consumer} on {kafka.bootstrap_servers}", err=True)


@dlq_app.command("replay")
def dlq_replay(
    consumer: ServiceName,
    event_id: Annotated[
        list[str] | None, typer.Option(help="Only these events (repeatable).")
    ] = None,
) -> None:
    """Publish dead letters back onto their original topics (consumers are idempotent)."""
    from flightdeck.events.deadletters import replay_dead_letters

    kafka = service(consumer).settings().kafka()
    ids = set(event_id) if event_id else None
    replayed = asyncio.run(replay_dead_letters(kafka, consumer, event_ids=ids))
    typer.echo(f"replayed {len(replayed)} record(s)")


@app.command()
def publish(
    event_type: Annotated[
        str, typer.Argument(help="Class name (DeploymentFinished) or type (flightdeck.….v1).")
    ],
    data: Annotated[str, typer.Argument(help="JSON file with the event data; - for stdin.")] = "-",
    event_id: Annotated[str | None, typer.Option(help="ce_id (default a new UUID).")] = None,
    correlation_id: Annotated[str | None, typer.Option(help="ce_correlationid.")] = None,
) -> None:
    """Publish one event on its producer's topic, as that producer would (validated first).

    For standing in for a producer that is not running, e.g. a CI tool's DeploymentFinished.
    """
    from pydantic import ValidationError

    from flightdeck.events.catalogue import ALL_EVENTS, event_class
    from flightdeck.events.direct import publish_direct
    from flightdeck.events.envelope import Envelope

    by_name = {cls.__name__: cls for cls in ALL_EVENTS}
    cls = by_name.get(event_type) or event_class(event_type)
    if cls is None:
        typer.echo(f"unknown event type {event_type!r}; known: {', '.join(by_name)}", err=True)
        raise typer.Exit(2)
    try:
        event = cls.model_validate_json(sys.stdin.read() if data == "-" else Path(data).read_text())
    except (ValidationError, OSError) as exc:
        typer.echo(f"no valid {cls.__name__} in {data}:\n{exc}", err=True)
        raise typer.Exit(2) from exc
    envelope = Envelope(data=event, correlation_id=correlation_id)
    if event_id:
        envelope = dataclasses.replace(envelope, id=event_id)
    kafka = all_services()[0].settings().kafka()
    asyncio.run(publish_direct(kafka, envelope))
    typer.echo(f"published {cls.ce_type} {envelope.id} (subject {envelope.subject})")


@app.command()
def schemas(
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("docs/events"),
) -> None:
    """Write the JSON Schema of every event type and the AsyncAPI document."""
    from flightdeck.events.schemas import asyncapi_document, dump, write_schemas

    written = write_schemas(out / "schemas")
    (out / "asyncapi.json").write_text(dump(asyncapi_document()))
    typer.echo(f"wrote {len(written)} schemas and {out / 'asyncapi.json'}")


def main() -> None:
    """Entry point for `python -m flightdeck.cli.main`."""
    app()


if __name__ == "__main__":
    main()
