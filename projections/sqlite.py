"""The read model on SQLite (the embedded default): all of its SQL, projector and API side."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from domain.incident import Status
from projections.incidents import Changes, IncidentRow, UnexpectedEventError
from projections.views import UPSTREAM, Page

_CREATE = [
    """CREATE TABLE IF NOT EXISTS incident_view (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        version INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS incident_view_by_created ON incident_view (created_at, id)",
    """CREATE INDEX IF NOT EXISTS incident_view_by_status
        ON incident_view (status, created_at, id)""",
    """CREATE TABLE IF NOT EXISTS incident_counts (
        status TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID""",
    *(
        f"INSERT OR IGNORE INTO incident_counts VALUES ('{s.value}', 0)"  # noqa: S608 (enum)
        for s in Status
    ),
    """CREATE TABLE IF NOT EXISTS revoked_sessions (
        session_id TEXT PRIMARY KEY,
        revoked_at TEXT NOT NULL,
        position INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS revoked_sessions_by_position ON revoked_sessions (position)",
]
_INSERT_INCIDENT = "INSERT INTO incident_view VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPDATE_STATUS = """UPDATE incident_view SET status = ?, updated_at = ?, version = ?
    WHERE id = ? AND version = ? RETURNING id"""
_ADD_TO_COUNT = "UPDATE incident_counts SET n = n + ? WHERE status = ?"
_INSERT_REVOKED = "INSERT OR IGNORE INTO revoked_sessions VALUES (?, ?, ?)"
_RESET = [
    "DELETE FROM incident_view",
    "UPDATE incident_counts SET n = 0",
    "DELETE FROM revoked_sessions",
    "DELETE FROM tracking WHERE application_name = ?",
]
_PAGE_ALL = """SELECT id, status, source, description, created_at, updated_at, version
    FROM incident_view ORDER BY created_at, id LIMIT ? OFFSET ?"""
_PAGE_BY_STATUS = """SELECT id, status, source, description, created_at, updated_at, version
    FROM incident_view WHERE status = ? ORDER BY created_at, id LIMIT ? OFFSET ?"""
_COUNT_ALL = "SELECT COALESCE(SUM(n), 0) FROM incident_counts"
_COUNT_BY_STATUS = "SELECT n FROM incident_counts WHERE status = ?"
_GET = """SELECT id, status, source, description, created_at, updated_at, version
    FROM incident_view WHERE id = ?"""
_POSITION = "SELECT notification_id FROM tracking WHERE application_name = ?"
_REVOKED_AFTER = """SELECT session_id, position FROM revoked_sessions
    WHERE position > ? ORDER BY position"""


def _time(value: datetime) -> str:
    # Fixed width, UTC: text order is time order, so the (created_at, id) index sorts right.
    return value.isoformat(timespec="microseconds")


@contextlib.contextmanager
def _library_errors() -> Iterator[None]:
    """Raise what the PostgreSQL view store raises: the library's errors, not sqlite3's."""
    try:
        yield
    except sqlite3.IntegrityError as error:  # e.g. another projector applied these events
        raise IntegrityError(str(error)) from error
    except sqlite3.OperationalError as error:  # e.g. the database stayed locked
        raise OperationalError(str(error)) from error


class SQLiteViewStore(SQLiteTrackingRecorder):
    def __init__(self, datastore: SQLiteDatastore, poll_interval: float = 0.005) -> None:
        super().__init__(datastore)
        self._poll_interval = poll_interval

    @classmethod
    def connect(cls, path: str, lock_timeout: int = 5) -> SQLiteViewStore:
        store = cls(SQLiteDatastore(path, lock_timeout=lock_timeout, pool_size=2))
        store.create_table(timeout=lock_timeout)
        return store

    def create_table(self, timeout: float = 5.0) -> None:
        """Create the tables (once), retrying while another process writes.

        The library opens this transaction as a reader; when it turns writer while another
        connection has just committed (the event store, under load), SQLite refuses at once
        with "database is locked" instead of waiting for the lock.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                super().create_table()
                return
            except OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *_CREATE]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        # BEGIN IMMEDIATE takes the write lock up front: projectors and replays queue up here.
        with self.datastore.get_connection(commit=True) as conn, _library_errors():
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield _Transaction(self, cursor)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def position(self) -> int:
        return self.max_tracking_id(UPSTREAM) or 0

    def wait_for_events(self, timeout: float) -> None:
        # SQLite cannot push; polling its log is a cheap indexed read.
        time.sleep(min(timeout, self._poll_interval))

    def close(self) -> None:
        self.datastore.close()


class _Transaction:
    def __init__(self, store: SQLiteViewStore, cursor: Any) -> None:
        self._store = store
        self._cursor = cursor

    def reset(self) -> None:
        for statement in _RESET:
            self._cursor.execute(statement, (UPSTREAM,) if "?" in statement else ())

    def apply(self, changes: Changes, position: int) -> None:
        c = self._cursor
        for r in changes.new_incidents.values():
            c.execute(_INSERT_INCIDENT, (
                str(r.id), r.status, r.source, r.description,
                _time(r.created_at), _time(r.updated_at), r.version,
            ))
        for u in changes.status_updates.values():
            c.execute(_UPDATE_STATUS, (
                u.status, _time(u.updated_at), u.version, str(u.id), u.previous_version,
            ))
            if c.fetchone() is None:
                raise UnexpectedEventError(f"status change of {u.id} does not follow the view")
        for status, n in changes.count_deltas.items():
            if n:
                c.execute(_ADD_TO_COUNT, (n, status))
        for session_id, at in changes.revoked_sessions.items():
            listed_at = changes.revocation_positions.get(session_id, position)
            c.execute(_INSERT_REVOKED, (str(session_id), _time(at), listed_at))
        try:
            self._store._insert_tracking(c, Tracking(UPSTREAM, position))
        except IntegrityError as error:
            raise IntegrityError(f"another projector already reached {position}") from error


def _row(r: tuple[Any, ...]) -> IncidentRow:
    return IncidentRow(
        UUID(r[0]), r[1], r[2], r[3], datetime.fromisoformat(r[4]), datetime.fromisoformat(r[5]),
        r[6],
    )


class SQLiteIncidentQueries:
    """The API's reads: short SQLite queries on a small thread pool, one connection per thread."""

    def __init__(self, path: str, events_table: str, threads: int = 4) -> None:
        self._path = path
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="sqlite-read")
        self._last_event_sql = f"SELECT MAX(rowid) FROM {events_table}"  # noqa: S608 (ours)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=5, check_same_thread=False)
            self._local.conn = conn
        return conn

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            return self._connection().execute(sql, params).fetchall()

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)

    async def page(self, status: str | None, page: int, page_size: int) -> Page:
        offset = (page - 1) * page_size
        if status is None:
            rows = await self._fetch(_PAGE_ALL, (page_size, offset))
            total = await self._fetch(_COUNT_ALL)
        else:
            rows = await self._fetch(_PAGE_BY_STATUS, (status, page_size, offset))
            total = await self._fetch(_COUNT_BY_STATUS, (status,))
        return Page([_row(r) for r in rows], total[0][0] if total else 0)

    async def get(self, incident_id: UUID) -> IncidentRow | None:
        rows = await self._fetch(_GET, (str(incident_id),))
        return _row(rows[0]) if rows else None

    async def position(self) -> int:
        rows = await self._fetch(_POSITION, (UPSTREAM,))
        return (rows[0][0] or 0) if rows else 0

    async def last_event(self) -> int:
        rows = await self._fetch(self._last_event_sql)
        return rows[0][0] or 0

    async def revoked_sessions(self, after: int) -> list[tuple[UUID, int]]:
        rows = await self._fetch(_REVOKED_AFTER, (after,))
        return [(UUID(r[0]), r[1]) for r in rows]

    def positions(self) -> AsyncIterator[int] | None:
        return None  # no push channel in SQLite: waiters poll

    async def close(self) -> None:
        self._executor.shutdown(wait=False)
