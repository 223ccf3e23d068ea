"""Turn our one ``DATABASE_URL`` setting into the ``eventsourcing`` library's environment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.sql import SQL, Identifier

from application.breaker import DatabaseUnavailableError, breaker_for

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Database:
    """Where the event store and the read models live."""

    kind: str  # "postgres" | "sqlite" | "memory"
    name: str = ""  # database name, or the SQLite file path
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Parse ``postgresql://user:pass@host:port/db``, ``sqlite:///path`` or ``memory://``."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("postgresql", "postgres"):
            name = unquote(parts.path.lstrip("/"))
            if not name or not parts.hostname:
                raise ValueError("a PostgreSQL DATABASE_URL needs a host and a database name")
            return cls(
                kind="postgres",
                name=name,
                host=parts.hostname,
                port=parts.port or 5432,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
            )
        if scheme == "sqlite":
            # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy spells them.
            path = parts.path[1:] if parts.path.startswith("/") else parts.path
            if not path:
                raise ValueError("a SQLite DATABASE_URL needs a file path: sqlite:///incidents.db")
            return cls(kind="sqlite", name=str(Path(path)))
        if scheme == "memory":
            return cls(kind="memory")
        raise ValueError("DATABASE_URL must start with postgresql://, sqlite:/// or memory://")

    def conninfo(self) -> str:
        """A libpq connection string for our own psycopg connections (read side, LISTEN)."""
        return psycopg.conninfo.make_conninfo(
            dbname=self.name, host=self.host, port=self.port, user=self.user,
            password=self.password,
        )


def event_store_env(
    db: Database,
    *,
    pool_size: int = 8,
    connect_timeout: int = 3,
    lock_timeout: int = 5,
) -> dict[str, str]:
    """The library settings for ``db``. Passed to the constructor, so they beat ``os.environ``."""
    # Keep recently used aggregates: a status change then reads only the events recorded since
    # (the library fast-forwards a cached aggregate before use), not the whole history again.
    cache = {"AGGREGATE_CACHE_MAXSIZE": "4096"}
    if db.kind == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo", **cache}
    if db.kind == "sqlite":
        return {
            **cache,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": db.name,
            "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
        }
    return {
        **cache,
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": db.name,
        "POSTGRES_HOST": db.host,
        "POSTGRES_PORT": str(db.port),
        "POSTGRES_USER": db.user,
        "POSTGRES_PASSWORD": db.password,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(lock_timeout),
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:FailFastApplicationRecorder",
    }


#: Seconds a pool keeps retrying a lost connection before it gives up; afterwards the next
#: request that needs a connection opens a new one at once. (psycopg's default, 5 minutes of
#: exponential backoff, can leave a pool empty for as long again as the outage lasted.)
RECONNECT_GIVE_UP = 2.0


def session_options(lock_timeout: float) -> str:
    """libpq ``options``: no statement of ours waits longer than this for a lock."""
    return f"-c lock_timeout={int(lock_timeout * 1000)}" if lock_timeout > 0 else ""


def is_lock_timeout(error: BaseException) -> bool:
    return isinstance(error.__cause__ or error, psycopg.errors.LockNotAvailable)


def _fail_fast(method: F) -> F:
    """Replace the library's 10 x 0.2 s retry loop by: the breaker; one probe; one retry.

    After a database restart every pooled connection is dead: if a fresh connection works, the
    pool is purged and the call retried once. If the database is really down, the breaker trips
    and the caller learns it at once (503) instead of after ten attempts. Lock timeouts are not
    retried: the lock timeout already waited, a retry would double it.
    """
    undecorated = getattr(method, "__wrapped__", method)

    @wraps(undecorated)
    def wrapper(self: FailFastApplicationRecorder, *args: Any, **kwargs: Any) -> Any:
        self.pass_breaker()
        try:
            return undecorated(self, *args, **kwargs)
        except (InterfaceError, OperationalError) as error:
            if is_lock_timeout(error) or isinstance(error, DatabaseUnavailableError):
                raise
            if not self.database_answers():
                self.breaker.trip()
                raise DatabaseUnavailableError(str(error)) from error
            self.datastore.pool.check()
            return undecorated(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class FailFastApplicationRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        pool = datastore.pool
        conninfo = pool.kwargs if isinstance(pool.kwargs, dict) else {}
        self.breaker = breaker_for(conninfo["host"], conninfo["port"], conninfo["dbname"])
        self._probe_timeout = max(2, round(pool.timeout))
        # Before the pool opens (the library's constructor opens it): every connection gets a
        # connect timeout and a lock timeout, so that reads, not only the library's inserts,
        # give up on a locked table.
        pool.kwargs = {
            **conninfo,
            "connect_timeout": self._probe_timeout,
            "options": session_options(datastore.lock_timeout),
        }
        pool.reconnect_timeout = RECONNECT_GIVE_UP
        super().__init__(datastore, **kwargs)
        self._insert_through_locking_function()

    def _insert_through_locking_function(self) -> None:
        """Insert with one call of a server-side function that takes the table lock itself.

        The library's own insert path sends LOCK, NOTIFY and INSERT as a pipeline and commits
        after the reply: the events table stays locked while this process waits for the reply
        and then for its interpreter lock, which on a busy worker is the longest part. The
        library's database function (``POSTGRES_ENABLE_DB_FUNCTIONS``) is one round trip but
        takes no lock, so notification ids could commit out of order and a projector skip one.
        This function does both: the lock, then the insert, in one statement that commits on
        the server, so the lock is held only as long as PostgreSQL needs.
        """
        params = {
            "schema": Identifier(self.datastore.schema),
            "function": Identifier(f"it_insert_events_locked_{self.datastore.originator_id_type}"),
        }
        self.pg_function_name_insert_events = (
            f"it_insert_events_locked_{self.datastore.originator_id_type}"
        )
        self.sql_invoke_pg_function_insert_events = SQL(
            "SELECT * FROM {schema}.{function}((%s))"
        ).format(**params)
        self.sql_create_pg_function_insert_events = SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {schema}.{table} "
            "(originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "RETURNING notification_id; "
            "END; $BODY$"
        ).format(
            **params,
            event=Identifier(self.stored_event_type_name),
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
        )
        self.sql_create_statements[self.create_insert_function_statement_index] = (
            self.sql_create_pg_function_insert_events
        )
        self.datastore.enable_db_functions = True

    def pass_breaker(self) -> None:
        admitted = self.breaker.admit()
        if admitted == "go":
            return
        if admitted == "probe":
            reachable = False
            try:
                reachable = self.database_answers()
            finally:  # whatever happens, the next caller may probe again
                self.breaker.probed(reachable)
            if reachable:
                self.datastore.pool.check()  # connections from before the outage are dead
                return
        raise DatabaseUnavailableError("the database is unreachable")

    def database_answers(self) -> bool:
        """Whether a fresh connection (not one from the pool) can be opened right now."""
        kwargs = dict(self.datastore.pool.kwargs or {})  # type: ignore[call-overload]
        kwargs.pop("row_factory", None)
        kwargs["connect_timeout"] = self._probe_timeout
        try:
            psycopg.connect(**kwargs).close()
        except psycopg.Error:
            return False
        return True

    insert_events = _fail_fast(PostgresApplicationRecorder.insert_events)
    select_events = _fail_fast(PostgresApplicationRecorder.select_events)
    select_notifications = _fail_fast(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _fail_fast(PostgresApplicationRecorder.max_notification_id)
