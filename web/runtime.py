"""Wiring: build the application, the read model and the token service from ``Settings``.

This is the one place that knows which database implementation goes with which setting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import logging.config
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from application.breaker import breaker_for
from application.persistence import Database, event_store_env
from application.sessions import TokenService
from application.tokens import Keyring, load_or_create_private_pem
from application.tracker import IncidentTracker
from projections.postgres import PostgresIncidentQueries, PostgresViewStore
from projections.runner import Projector
from projections.sqlite import SQLiteIncidentQueries, SQLiteViewStore
from projections.views import IncidentQueries, ViewStore
from projections.watch import PositionWatch
from web.auth import Authenticator, RevokedSessions
from web.observability import log_config
from web.settings import Settings

log = logging.getLogger("incident_tracker")
T = TypeVar("T")


def open_tracker(
    settings: Settings, pool_size: int | None = None, create_tables: bool = False
) -> IncidentTracker:
    env = event_store_env(
        settings.database,
        pool_size=pool_size or settings.db_pool_size,
        connect_timeout=settings.db_connect_timeout,
        lock_timeout=settings.db_lock_timeout,
    )
    # Tables are created once, by prepare_database(), not by every worker at once.
    env["CREATE_TABLE"] = "y" if create_tables else "n"
    return IncidentTracker(env)


def prepare_database(settings: Settings) -> None:
    """Create the event store's and the read model's tables, and the dev signing key if needed.

    Run once, before workers start, so that they never race each other to create them.
    """
    tracker = open_tracker(settings, pool_size=1, create_tables=True)
    try:
        open_view_store(settings, tracker).close()
    finally:
        tracker.close()
    load_keyring(settings)


def events_table(tracker: IncidentTracker) -> str:
    return getattr(tracker.recorder, "events_table_name", "stored_events")


def open_view_store(settings: Settings, tracker: IncidentTracker) -> ViewStore:
    db = settings.database
    if db.kind == "postgres":
        return PostgresViewStore.connect(
            events_channel=tracker.recorder.channel_name,  # type: ignore[attr-defined]
            dbname=db.name, host=db.host, port=db.port, user=db.user, password=db.password,
            connect_timeout=settings.db_connect_timeout,
        )
    if db.kind == "sqlite":
        return SQLiteViewStore.connect(db.name, lock_timeout=settings.db_lock_timeout)
    raise ValueError("the read model needs PostgreSQL or SQLite")


def build_projector(
    settings: Settings, tracker: IncidentTracker, batch_size: int = 1000
) -> Projector:
    def read(after: int, limit: int) -> Any:
        return tracker.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )

    return Projector(
        open_view_store(settings, tracker), read, tracker.mapper.to_domain_event,
        batch_size=batch_size,
    )


def run_projector(settings: Settings) -> None:
    """The projector process: follow the event store until SIGINT or SIGTERM."""
    # Its own process (standalone, or spawned beside the HTTP workers): set its logging up too.
    logging.config.dictConfig(log_config(settings))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    tracker = open_tracker(settings, pool_size=2)
    projector = build_projector(settings, tracker)
    try:
        projector.run(stop)
    finally:
        projector.views.close()
        tracker.close()


def load_keyring(settings: Settings) -> Keyring:
    if settings.signing_key_file is not None:
        pem = settings.signing_key_file.read_bytes()
    else:
        pem = load_or_create_private_pem(settings.dev_signing_key_file)
    retired = [path.read_bytes() for path in settings.retired_public_key_files]
    return Keyring(pem, retired)


async def open_queries(settings: Settings, tracker: IncidentTracker) -> IncidentQueries:
    db: Database = settings.database
    if db.kind == "postgres":
        return await PostgresIncidentQueries.connect(
            db.conninfo(), events_table(tracker),
            breaker=breaker_for(db.host, db.port, db.name),
            pool_size=settings.db_pool_size,
            timeout=settings.db_connect_timeout,
            lock_timeout=settings.db_lock_timeout,
        )
    return SQLiteIncidentQueries(db.name, events_table(tracker))


@dataclass
class Runtime:
    """Everything one HTTP worker process uses, built once when it starts."""

    settings: Settings
    tracker: IncidentTracker
    tokens: TokenService
    keyring: Keyring
    queries: IncidentQueries
    watch: PositionWatch
    revoked: RevokedSessions
    authenticator: Authenticator
    executor: ThreadPoolExecutor

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="event-store")
        tracker = await loop.run_in_executor(executor, open_tracker, settings)
        keyring = await loop.run_in_executor(executor, load_keyring, settings)
        tokens = TokenService(
            tracker, keyring, issuer=settings.jwt_issuer,
            access_ttl=settings.access_token_ttl, refresh_ttl=settings.refresh_token_ttl,
        )
        queries = await open_queries(settings, tracker)
        listen = queries.positions if settings.database.kind == "postgres" else None
        watch = PositionWatch(queries.position, listen, 0.1 if listen else 0.002)
        revoked = RevokedSessions(
            queries.revoked_sessions, settings.revocation_refresh,
            keep_for=settings.access_token_ttl + 60,
        )
        await watch.start()
        await revoked.start()
        return cls(settings, tracker, tokens, keyring, queries, watch, revoked,
                   Authenticator(tokens, revoked), executor)

    async def blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a synchronous (event-store) call on the thread pool, off the event loop."""
        call = functools.partial(func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def stop(self) -> None:
        await self.watch.stop()
        await self.revoked.stop()
        await self.queries.close()
        await self.blocking(self.tracker.close)
        self.executor.shutdown(wait=False)
