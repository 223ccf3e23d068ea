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
from eventsourcing.postgres import PostgresApplicationRecorder

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
    if db.kind == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if db.kind == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": db.name,
            "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
        }
    return {
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


def _retry_once_on_stale_connection(method: F) -> F:
    """Replace the library's 10 x 0.2 s retry loop by one retry after purging dead connections.

    After a database restart every pooled connection is dead; the pool's ``check()`` drops them
    so the retry gets a fresh one. If the database is really down, the caller learns it within
    one connect timeout instead of ten, and the web layer answers 503.
    """
    undecorated = getattr(method, "__wrapped__", method)

    @wraps(undecorated)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return undecorated(self, *args, **kwargs)
        except (InterfaceError, OperationalError) as error:
            if isinstance(error.__cause__, psycopg.errors.LockNotAvailable):
                raise  # the lock timeout already waited; retrying would double it
            self.datastore.pool.check()
            return undecorated(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class FailFastApplicationRecorder(PostgresApplicationRecorder):
    insert_events = _retry_once_on_stale_connection(PostgresApplicationRecorder.insert_events)
    select_events = _retry_once_on_stale_connection(PostgresApplicationRecorder.select_events)
    select_notifications = _retry_once_on_stale_connection(
        PostgresApplicationRecorder.select_notifications
    )
    max_notification_id = _retry_once_on_stale_connection(
        PostgresApplicationRecorder.max_notification_id
    )

