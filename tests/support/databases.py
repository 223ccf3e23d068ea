"""Scratch databases for tests: a fresh PostgreSQL database or SQLite file per use.

PostgreSQL is required. If it cannot be reached the run fails, loudly, unless SKIP_POSTGRES=1
is set on purpose (never in CI).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_problem() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {ADMIN_URL} is not reachable: {error}".strip()
    return None


class PostgresDatabases:
    """Creates databases on demand and drops them all at the end of the session."""

    def __init__(self) -> None:
        self._created: list[str] = []

    def create(self) -> str:
        name = f"it_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._created.append(name)
        base, _, _ = ADMIN_URL.rpartition("/")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            for name in self._created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(name)
                    )
                )
        self._created.clear()


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'incidents.db'}"
