"""The read model on PostgreSQL: all of its SQL, for the projector (sync) and the API (async)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool

from domain.incident import Status
from projections.incidents import Changes, IncidentRow, UnexpectedEventError
from projections.views import UPSTREAM, Page

TRACKING_TABLE = "incident_views_tracking"
#: NOTIFY channel on which the projector announces each committed position.
POSITION_CHANNEL = "incident_views_position"

_CREATE = [
    """CREATE TABLE IF NOT EXISTS incident_view (
        id uuid PRIMARY KEY,
        status text NOT NULL,
        source text NOT NULL,
        description text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version integer NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS incident_view_by_created ON incident_view (created_at, id)",
    """CREATE INDEX IF NOT EXISTS incident_view_by_status
        ON incident_view (status, created_at, id)""",
    "CREATE TABLE IF NOT EXISTS incident_counts (status text PRIMARY KEY, n bigint NOT NULL)",
    """CREATE TABLE IF NOT EXISTS revoked_sessions (
        session_id uuid PRIMARY KEY,
        revoked_at timestamptz NOT NULL,
        position bigint NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS revoked_sessions_by_position ON revoked_sessions (position)",
]
_SEED_COUNTS = "INSERT INTO incident_counts SELECT unnest(%s::text[]), 0 ON CONFLICT DO NOTHING"
_INSERT_INCIDENT = """INSERT INTO incident_view
    (id, status, source, description, created_at, updated_at, version)
    VALUES (%s, %s, %s, %s, %s, %s, %s)"""
_UPDATE_STATUS = """UPDATE incident_view SET status = %s, updated_at = %s, version = %s
    WHERE id = %s AND version = %s"""
_ADD_TO_COUNT = "UPDATE incident_counts SET n = n + %s WHERE status = %s"
_INSERT_REVOKED = """INSERT INTO revoked_sessions (session_id, revoked_at, position)
    VALUES (%s, %s, %s) ON CONFLICT (session_id) DO NOTHING"""
_RESET = [
    "DELETE FROM incident_view",
    "UPDATE incident_counts SET n = 0",
    "DELETE FROM revoked_sessions",
]
# One round trip per page: the total rides along with the rows (and alone, as a row of NULLs,
# on a page past the end).
_PAGE_ALL = """SELECT t.n, v.id, v.status, v.source, v.description, v.created_at, v.updated_at,
        v.version
    FROM (SELECT COALESCE(SUM(n), 0)::bigint AS n FROM incident_counts) t
    LEFT JOIN LATERAL (SELECT * FROM incident_view ORDER BY created_at, id LIMIT %s OFFSET %s) v
        ON true"""
_PAGE_BY_STATUS = """SELECT t.n, v.id, v.status, v.source, v.description, v.created_at,
        v.updated_at, v.version
    FROM (SELECT COALESCE(MAX(n), 0)::bigint AS n FROM incident_counts WHERE status = %s) t
    LEFT JOIN LATERAL (SELECT * FROM incident_view WHERE status = %s
                       ORDER BY created_at, id LIMIT %s OFFSET %s) v
        ON true"""
_GET = """SELECT id, status, source, description, created_at, updated_at, version
    FROM incident_view WHERE id = %s"""
_REVOKED_AFTER = """SELECT session_id, position FROM revoked_sessions
    WHERE position > %s ORDER BY position"""
#: Serialises projectors: the live one waits while a replay rebuilds, and vice versa.
_EXCLUSIVE = "SELECT pg_advisory_xact_lock(hashtext('incident_views'))"
#: Seconds a pool retries a lost connection before giving up (the next request then opens a
#: fresh one at once, rather than waiting out psycopg's exponential backoff).
_RECONNECT_GIVE_UP = 2.0
#: Long-lived LISTEN connections notice a vanished server within about 10 s.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
               "keepalives_count": 3}


class ReadModelUnavailableError(psycopg.OperationalError):
    """The database did not answer a read-model query (the web layer answers 503)."""


class Breaker(Protocol):
    """The process's circuit breaker for this database (``application.persistence``)."""

    def admit(self) -> str: ...

    def probed(self, reachable: bool) -> None: ...

    def trip(self) -> None: ...


class PostgresViewStore(PostgresTrackingRecorder):
    """The views plus the library's tracking table, written in one transaction per batch."""

    def __init__(self, datastore: PostgresDatastore, events_channel: str) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE)
        self.sql_create_statements.extend(SQL(s).format() for s in _CREATE)  # type: ignore[arg-type]
        self._events_channel = events_channel
        self._listener: psycopg.Connection[Any] | None = None

    @classmethod
    def connect(cls, *, events_channel: str, **conninfo: Any) -> PostgresViewStore:
        connect_timeout = conninfo.get("connect_timeout", 5)
        datastore = PostgresDatastore(
            dbname=conninfo["dbname"], host=conninfo["host"], port=conninfo["port"],
            user=conninfo["user"], password=conninfo["password"],
            pool_size=2, connect_timeout=connect_timeout,
            lock_timeout=0,  # a live projector waits for a replay's transaction, however long
        )
        pool = datastore.pool
        kwargs = dict(pool.kwargs or {})  # type: ignore[call-overload]
        pool.kwargs = {**kwargs, "connect_timeout": max(2, connect_timeout)}
        pool.reconnect_timeout = _RECONNECT_GIVE_UP
        store = cls(datastore, events_channel)
        store.create_table()
        return store

    def create_table(self) -> None:
        super().create_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(_SEED_COUNTS, ([s.value for s in Status],))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        with self._purging_dead_connections(), self.datastore.transaction(commit=True) as curs:
            curs.execute(_EXCLUSIVE)
            yield _Transaction(self, curs)

    def position(self) -> int:
        # Not the library's max_tracking_id(): its 10 retries would hold the projector for
        # tens of seconds in an outage; the projector's own loop retries instead.
        with self._purging_dead_connections(), self.datastore.get_connection() as conn:
            return self._max_tracking_id(UPSTREAM, conn.cursor()) or 0

    @contextlib.contextmanager
    def _purging_dead_connections(self) -> Iterator[None]:
        """After a database restart, drop the pool's dead connections before the next try."""
        try:
            yield
        except (OperationalError, InterfaceError):
            with contextlib.suppress(Exception):
                self.datastore.pool.check()
            raise

    def wait_for_events(self, timeout: float) -> None:
        try:
            if self._listener is None or self._listener.closed:
                self._listener = psycopg.connect(
                    **self._connect_kwargs(), autocommit=True
                )
                self._listener.execute(SQL("LISTEN {0}").format(Identifier(self._events_channel)))
                return  # events may have arrived before we listened: look now
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error:
            self._close_listener()
            with contextlib.suppress(Exception):
                self.datastore.pool.check()  # if the server restarted, these are dead too
            raise

    def _connect_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.datastore.pool.kwargs or {})  # type: ignore[call-overload]
        kwargs.pop("row_factory", None)
        return {**kwargs, **_KEEPALIVES}

    def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
            self._listener = None

    def close(self) -> None:
        self._close_listener()
        self.datastore.close()


class _Transaction:
    def __init__(self, store: PostgresViewStore, curs: psycopg.Cursor[Any]) -> None:
        self._store = store
        self._curs = curs

    def reset(self) -> None:
        for statement in _RESET:
            self._curs.execute(statement)
        self._curs.execute(
            SQL("DELETE FROM {0} WHERE application_name = %s").format(Identifier(TRACKING_TABLE)),
            (UPSTREAM,),
        )

    def apply(self, changes: Changes, position: int) -> None:
        curs = self._curs
        if changes.new_incidents:
            curs.executemany(_INSERT_INCIDENT, [
                (r.id, r.status, r.source, r.description, r.created_at, r.updated_at, r.version)
                for r in changes.new_incidents.values()
            ])
        if changes.status_updates:
            curs.executemany(_UPDATE_STATUS, [
                (u.status, u.updated_at, u.version, u.id, u.previous_version)
                for u in changes.status_updates.values()
            ])
            if curs.rowcount != len(changes.status_updates):
                raise UnexpectedEventError("a status change does not follow the viewed version")
        deltas = [(n, status) for status, n in changes.count_deltas.items() if n]
        if deltas:
            curs.executemany(_ADD_TO_COUNT, deltas)
        if changes.revoked_sessions:
            curs.executemany(_INSERT_REVOKED, [
                (session_id, at, changes.revocation_positions.get(session_id, position))
                for session_id, at in changes.revoked_sessions.items()
            ])
        try:
            self._store._insert_tracking(curs, Tracking(UPSTREAM, position))
        except IntegrityError as error:
            raise IntegrityError(f"another projector already reached {position}") from error
        curs.execute("SELECT pg_notify(%s, %s)", (POSITION_CHANNEL, str(position)))


class PostgresIncidentQueries:
    """The API's reads, on psycopg's async pool so they never block the event loop.

    They share the process's circuit breaker with the event store: while the database is known
    to be down, a read fails at once (503) instead of waiting for a connection.
    """

    def __init__(
        self, pool: AsyncConnectionPool[Any], events_table: str, breaker: Breaker
    ) -> None:
        self._pool = pool
        self._breaker = breaker
        self._last_event_sql = SQL("SELECT MAX(notification_id) AS n FROM {0}").format(
            Identifier(events_table)
        )
        self._position_sql = SQL(
            "SELECT notification_id AS n FROM {0} WHERE application_name = %s"
        ).format(Identifier(TRACKING_TABLE))

    @classmethod
    async def connect(
        cls,
        conninfo: str,
        events_table: str,
        *,
        breaker: Breaker,
        pool_size: int = 8,
        timeout: float = 3.0,
        lock_timeout: float = 5.0,
    ) -> PostgresIncidentQueries:
        options = f"-c lock_timeout={int(lock_timeout * 1000)}" if lock_timeout > 0 else ""
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            conninfo,
            min_size=min(2, pool_size),
            max_size=pool_size,
            # Tuples, not dicts: a page turns 50 of them into rows. UTC, so that timestamps
            # need no conversion on their way out.
            kwargs={"autocommit": True, "prepare_threshold": 0,
                    "connect_timeout": max(2, round(timeout)),
                    "options": f"{options} -c TimeZone=UTC".strip()},
            timeout=timeout,
            reconnect_timeout=_RECONNECT_GIVE_UP,
            open=False,
        )
        await pool.open(wait=False)
        return cls(pool, events_table, breaker)

    async def _fetch(self, sql: Any, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        await self._pass_breaker()
        try:
            return await self._run(sql, params)
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            if isinstance(error, psycopg.errors.LockNotAvailable | ReadModelUnavailableError):
                raise
            if not await self._database_answers():
                self._breaker.trip()
                raise ReadModelUnavailableError(str(error)) from error
            await self._pool.check()  # the server restarted: drop the dead connections
            return await self._run(sql, params)

    async def _run(self, sql: Any, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def _pass_breaker(self) -> None:
        admitted = self._breaker.admit()
        if admitted == "go":
            return
        if admitted == "probe":
            reachable = False
            try:
                reachable = await self._database_answers()
            finally:  # even if this request is cancelled, the next one may probe again
                self._breaker.probed(reachable)
            if reachable:
                await self._pool.check()
                return
        raise ReadModelUnavailableError("the database is unreachable")

    async def _database_answers(self) -> bool:
        """Whether a fresh connection (not one from the pool) can be opened right now."""
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._pool.conninfo, connect_timeout=max(2, round(self._pool.timeout))
            )
        except psycopg.Error:
            return False
        await conn.close()
        return True

    async def page(self, status: str | None, page: int, page_size: int) -> Page:
        offset = (page - 1) * page_size
        if status is None:
            rows = await self._fetch(_PAGE_ALL, (page_size, offset))
        else:
            rows = await self._fetch(_PAGE_BY_STATUS, (status, status, page_size, offset))
        make = IncidentRow._make
        return Page([make(r[1:]) for r in rows if r[1] is not None], rows[0][0])

    async def get(self, incident_id: UUID) -> IncidentRow | None:
        rows = await self._fetch(_GET, (incident_id,))
        return IncidentRow._make(rows[0]) if rows else None

    async def position(self) -> int:
        rows = await self._fetch(self._position_sql, (UPSTREAM,))
        return (rows[0][0] or 0) if rows else 0

    async def last_event(self) -> int:
        rows = await self._fetch(self._last_event_sql)
        return rows[0][0] or 0

    async def revoked_sessions(self, after: int) -> list[tuple[UUID, int]]:
        return [(r[0], r[1]) for r in await self._fetch(_REVOKED_AFTER, (after,))]

    async def positions(self) -> AsyncIterator[int]:
        """Positions the projector announces; ends when the connection breaks."""
        conn = await psycopg.AsyncConnection.connect(
            self._pool.conninfo, autocommit=True, connect_timeout=max(2, round(self._pool.timeout)),
            **_KEEPALIVES,
        )
        async with conn:
            await conn.execute(SQL("LISTEN {0}").format(Identifier(POSITION_CHANNEL)))
            yield await self.position()  # anything committed before LISTEN took effect
            async for notify in conn.notifies():
                yield int(notify.payload)

    async def close(self) -> None:
        await self._pool.close()
