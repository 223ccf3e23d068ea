"""Read the read model straight from its tables, and the truth straight from the event store."""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from application.persistence import Database
from application.records import IncidentState
from application.tracker import IncidentTracker

_TABLES = {
    # table: ordering column(s); every column is dumped
    "incident_view": "id",
    "incident_counts": "status",
    "revoked_sessions": "session_id",
}
_TRACKING = {
    "postgres": "SELECT notification_id FROM incident_views_tracking "
                "WHERE application_name = 'IncidentTracker'",
    "sqlite": "SELECT notification_id FROM tracking WHERE application_name = 'IncidentTracker'",
}


@dataclass(frozen=True)
class View:
    rows: dict[UUID, IncidentState]
    row_count: int
    counts: dict[str, int]
    position: int
    revoked_sessions: set[UUID]


class Reader:
    """One connection to a database's read model, kept open (polling opens no connections)."""

    def __init__(self, url: str) -> None:
        db = Database.from_url(url)
        self.kind = db.kind
        self._conn: Any = (
            psycopg.connect(db.conninfo(), autocommit=True, connect_timeout=5)
            if db.kind == "postgres"
            else sqlite3.connect(db.name, timeout=10, isolation_level=None)
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql).fetchall()

    def position(self) -> int:
        """The projector's tracking position (0 before its first commit)."""
        rows = self.query(_TRACKING[self.kind])
        return rows[0][0] if rows else 0

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view table, in a fixed order, plus the tracking position."""
        tables = {
            table: self.query(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608 (ours)
            for table, order in _TABLES.items()
        }
        tables["tracking"] = [(self.position(),)]
        return tables

    def view(self) -> View:
        rows = self.query("SELECT id, status, source, description, created_at, updated_at, "
                          "version FROM incident_view")
        states = {
            UUID(str(r[0])): IncidentState(
                UUID(str(r[0])), r[1], r[2], r[3], _time(r[4]), _time(r[5]), r[6]
            )
            for r in rows
        }
        counts = dict(self.query("SELECT status, n FROM incident_counts"))
        revoked = {UUID(str(r[0])) for r in self.query("SELECT session_id FROM revoked_sessions")}
        return View(states, len(rows), counts, self.position(), revoked)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def truth(tracker: IncidentTracker, incident_ids: set[UUID]) -> dict[UUID, IncidentState]:
    """Each incident's latest state, replayed from its own events by the repository."""
    return {i: IncidentState.of(tracker.repository.get(i)) for i in incident_ids}


def status_counts(states: dict[UUID, IncidentState]) -> dict[str, int]:
    counted = Counter(s.status for s in states.values())
    return {status: counted.get(status, 0) for status in ("new", "in_progress", "resolved",
                                                          "closed")}
