"""``incident-tracker``: serve the API, run or replay the projector, read an audit trail."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
    help="Incident Tracker: an event-sourced incident API.\n\n"
    "Configuration comes from environment variables and a .env file in the working "
    "directory (see .env.example); command-line options override them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: Any) -> Any:
    """The settings, or exit 2 with one line per invalid variable (never a traceback)."""
    from web.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as error:
        errors.print("[red]Invalid configuration[/red] (environment variables or .env):")
        for problem in error.errors(include_url=False):
            name, *index = [str(part) for part in problem["loc"]] or ["settings"]
            where = name.upper() + "".join(f"[{i}]" for i in index)
            errors.print(f"  {where}: {problem['msg'].removeprefix('Value error, ')}",
                         markup=False)
        raise typer.Exit(2) from None


@contextmanager
def _starting(settings: Any) -> Iterator[None]:
    """Turn "the database or a key file is not there" into one clear line and exit 1."""
    import sqlite3

    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    try:
        yield
    except (OperationalError, InterfaceError, psycopg.Error, sqlite3.Error) as error:
        db = settings.database
        where = f"{db.host}:{db.port}/{db.name}" if db.kind == "postgres" else db.name
        errors.print(f"[red]Cannot use the database[/red] ({db.kind} {where}): {error}\n"
                     "Is it running, and is DATABASE_URL right?", soft_wrap=True)
        raise typer.Exit(1) from None
    except OSError as error:
        errors.print(f"[red]Cannot start:[/red] {error}", soft_wrap=True)
        raise typer.Exit(1) from None


def _exit_cleanly_when_stopped_during_startup() -> None:
    """Work around a Sanic bug: SIGTERM before every worker has acknowledged its start.

    Sanic's manager waits for all workers to acknowledge (which comes a little after they
    answer requests); a shutdown during that wait leaves it spinning until its 30 s
    threshold, then it SIGKILLs the process group (sanic-org/sanic#2997). A shutdown that
    has begun counts as "acknowledged" here, so the manager goes on to its normal exit.
    """
    from sanic.worker.manager import WorkerManager

    all_workers_ack = WorkerManager._all_workers_ack
    if getattr(all_workers_ack, "patched", False):
        return

    def _all_workers_ack(self: WorkerManager) -> bool:
        return bool(self._shutting_down) or all_workers_ack(self)

    _all_workers_ack.patched = True  # type: ignore[attr-defined]
    WorkerManager._all_workers_ack = _all_workers_ack  # type: ignore[method-assign]


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(
        help="Address to bind (env HOST, default 127.0.0.1; 0.0.0.0 in a container).",
        show_default=False)] = None,
    port: Annotated[int | None, typer.Option(
        help="Port to bind (env PORT, default 8000).", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        help="HTTP worker processes (env WORKERS, default: one per CPU).",
        show_default=False)] = None,
    projector: Annotated[bool, typer.Option(
        "--projector/--no-projector",
        help="Also run the projector, which keeps the read views up to date. Use "
        "--no-projector on API nodes when one `incident-tracker project` runs elsewhere.")
    ] = True,
) -> None:
    """Run the HTTP API (and, unless --no-projector, the projector beside it).

    Stops gracefully on SIGTERM or SIGINT: requests in flight finish, then every process exits.
    """
    settings = _settings(host=host, port=port, workers=workers)

    from sanic import Sanic
    from sanic.worker.loader import AppLoader

    from web.app import create_app
    from web.runtime import prepare_database, run_projector

    with _starting(settings):
        prepare_database(settings)
    _exit_cleanly_when_stopped_during_startup()
    with tempfile.TemporaryDirectory(prefix="it-metrics-") as metrics_dir:
        # Set before the workers start, so that every worker's metrics end up in one place.
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", metrics_dir)
        loader = AppLoader(factory=partial(create_app, settings))
        app = loader.load()
        app.prepare(host=settings.host, port=settings.port, workers=settings.workers,
                    motd=settings.log_format == "text")
        if projector:
            @app.main_process_ready
            async def start_projector(app: Sanic) -> None:
                app.manager.manage("Projector", run_projector, {"settings": settings})

        try:
            Sanic.serve(primary=app, app_loader=loader)
        except OSError as error:
            if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
                raise
            errors.print(f"[red]Cannot listen on {settings.host}:{settings.port}:[/red] "
                         f"{error.strerror}. Choose another HOST/PORT (or --host/--port).")
            raise typer.Exit(1) from None


@cli.command()
def project() -> None:
    """Run only the projector: it applies new events to the read views, then waits for more.

    Run exactly one per database, beside API nodes started with `serve --no-projector`.
    Stops gracefully on SIGTERM or SIGINT.
    """
    from web.runtime import prepare_database, run_projector

    settings = _settings()
    with _starting(settings):
        prepare_database(settings)
        run_projector(settings)


@cli.command()
def replay(
    batch_size: Annotated[int, typer.Option(
        min=1, max=100_000, help="Events read and applied per step.")] = 5000,
) -> None:
    """Rebuild every read model from the event store, in one transaction.

    Readers see the old views until the new ones commit; a running projector waits meanwhile.
    Prints the number of events and the rate (events/s).
    """
    from web.runtime import build_projector, open_tracker, prepare_database

    settings = _settings()
    with _starting(settings):
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
def history(incident_id: Annotated[UUID, typer.Argument(help="The incident's id.")]) -> None:
    """Print an incident's audit trail: every event, when, who caused it, what changed."""
    from application.errors import IncidentNotFoundError
    from web.runtime import open_tracker
    from web.schemas import format_timestamp

    settings = _settings()
    with _starting(settings):
        tracker = open_tracker(settings, pool_size=1)
        try:
            entries = tracker.history(incident_id)
        except IncidentNotFoundError as error:
            errors.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None
        finally:
            tracker.close()
    table = Table(title=f"incident {incident_id}", title_justify="left")
    table.add_column("version", justify="right", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("actor", overflow="fold")
    table.add_column("change", overflow="fold", ratio=1)
    for e in entries:
        table.add_row(str(e.version), format_timestamp(e.at), f"{e.actor.name}\n{e.actor.id}",
                      _describe_change(e.type, e.data))
    console.print(table)


def _describe_change(event_type: str, data: dict[str, Any]) -> str:
    if event_type == "IncidentReported":
        return f"reported ({data['source']}): {data['description']}"
    if event_type == "StatusChanged":
        return f"status {data['from']} → {data['to']}"
    return f"{event_type} {data}"


@cli.command()
def keygen(
    path: Annotated[Path, typer.Argument(help="Where to write the private key (PEM).")],
    bits: Annotated[int, typer.Option(min=2048, max=8192, help="RSA key size.")] = 2048,
    keep_existing: Annotated[bool, typer.Option(
        "--keep-existing",
        help="If PATH exists, keep it and exit 0 (for one-shot set-up jobs).")] = False,
) -> None:
    """Write a new RS256 key pair: PATH (private, mode 0600) and PATH.pub (public).

    Point SIGNING_KEY_FILE at PATH. Never overwrites an existing key.
    """
    from application.tokens import generate_private_pem, public_pem, write_private_pem

    if keep_existing and path.exists():
        console.print(f"{path} exists; keeping it")
        return
    pem = generate_private_pem(bits)
    try:
        written = write_private_pem(path, pem)
    except OSError as error:
        errors.print(f"[red]Cannot write {path}:[/red] {error}")
        raise typer.Exit(1) from None
    if not written:
        errors.print(f"[red]{path} exists; not overwriting it[/red]")
        raise typer.Exit(1)
    public = path.with_name(path.name + ".pub")
    public.write_bytes(public_pem(pem))
    console.print(f"private key: {path}\npublic key:  {public}\n"
                  f"set SIGNING_KEY_FILE={path}")


def main() -> None:
    cli(prog_name="incident-tracker")


if __name__ == "__main__":
    sys.exit(main())
