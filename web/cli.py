"""``incident-tracker``: serve the API, run or replay the projector, read an audit trail."""

from __future__ import annotations

import os
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

cli = typer.Typer(
    help="Incident Tracker: an event-sourced incident API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


def _settings(**overrides: Any) -> Any:
    from web.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        console.print("[red]Invalid configuration:[/red]")
        for problem in error.errors(include_url=False):
            name = ".".join(str(p) for p in problem["loc"]).upper() or "settings"
            console.print(f"  {name}: {problem['msg']}")
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address [HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="bind port [PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="HTTP worker processes [WORKERS]")] = None,
    projector: Annotated[
        bool, typer.Option("--projector/--no-projector", help="also run the projector process")
    ] = True,
) -> None:
    """Run the HTTP API (and, unless --no-projector, the projector beside it)."""
    settings = _settings(host=host, port=port, workers=workers)
    # Set before the workers start, so that every worker's metrics end up in one place.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="it-metrics-"))

    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from web.app import create_app
    from web.runtime import prepare_database, run_projector

    prepare_database(settings)
    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(host=settings.host, port=settings.port, workers=settings.workers,
                motd=settings.log_format == "text")
    if projector:
        @app.main_process_ready
        async def start_projector(app: Sanic) -> None:
            app.manager.manage("Projector", run_projector, {"settings": settings})

    Sanic.serve(primary=app, app_loader=loader)


@cli.command()
def project() -> None:
    """Run only the projector (for deployments where API nodes run with --no-projector)."""
    from web.runtime import prepare_database, run_projector

    settings = _settings()
    prepare_database(settings)
    run_projector(settings)


@cli.command()
def replay(
    batch_size: Annotated[int, typer.Option(min=1, max=100_000)] = 5000,
) -> None:
    """Rebuild every read model from the event store, in one transaction.

    Readers see the old views until the new ones commit; a running projector waits meanwhile.
    """
    from web.runtime import build_projector, open_tracker, prepare_database

    settings = _settings()
    prepare_database(settings)
    tracker = open_tracker(settings, pool_size=2)
    projector = build_projector(settings, tracker, batch_size=batch_size)
    try:
        total = tracker.recorder.max_notification_id() or 0
        with Progress(
            TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, transient=False,
        ) as progress:
            task = progress.add_task("events", total=total)
            report = projector.replay(lambda n: progress.advance(task, n))
    finally:
        projector.views.close()
        tracker.close()
    console.print(
        f"replayed {report.events} events in {report.seconds:.2f} s "
        f"({report.events_per_second:,.0f} events/s); position {report.position}"
    )


@cli.command()
def history(incident_id: Annotated[UUID, typer.Argument(help="the incident's id")]) -> None:
    """Print an incident's audit trail: every event, who caused it, what changed."""
    from application.errors import IncidentNotFoundError
    from web.runtime import open_tracker
    from web.schemas import format_timestamp

    settings = _settings()
    tracker = open_tracker(settings, pool_size=1)
    try:
        entries = tracker.history(incident_id)
    except IncidentNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    finally:
        tracker.close()
    table = Table(title=f"incident {incident_id}")
    for column in ("version", "time (UTC)", "actor", "event", "change"):
        table.add_column(column)
    for e in entries:
        if e.type == "StatusChanged":
            change = f"{e.data['from']} → {e.data['to']}"
        else:
            change = f"{e.data['source']}: {e.data['description']}"
        table.add_row(str(e.version), format_timestamp(e.at), f"{e.actor.name} ({e.actor.id})",
                      e.type, change)
    console.print(table)


@cli.command()
def keygen(
    path: Annotated[Path, typer.Argument(help="where to write the private key (PEM)")],
    bits: Annotated[int, typer.Option(min=2048, max=8192)] = 2048,
) -> None:
    """Write a new RS256 key pair: PATH (private, mode 0600) and PATH.pub (public)."""
    from application.tokens import generate_private_pem, public_pem, write_private_pem

    pem = generate_private_pem(bits)
    if not write_private_pem(path, pem):
        console.print(f"[red]{path} exists; not overwriting it[/red]")
        raise typer.Exit(1)
    public = path.with_name(path.name + ".pub")
    public.write_bytes(public_pem(pem))
    console.print(f"private key: {path}\npublic key:  {public}\n"
                  f"set SIGNING_KEY_FILE={path}")


def main() -> None:
    cli(prog_name="incident-tracker")


if __name__ == "__main__":
    sys.exit(main())
