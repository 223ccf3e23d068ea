"""Seeding: events through the application itself, and read-model rows straight into SQL.

Events are written with ``IncidentTracker.save(*aggregates)``, the same call that the group
committer makes for a batch of concurrent requests: one transaction per batch of aggregates,
under the event store's table lock, from a few threads. So the stored events are exactly what
the HTTP API would have stored (same mapper, same transcoder, same topics), just faster.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from psycopg import sql

from application.records import ServiceRecord
from application.tracker import IncidentTracker
from domain.actor import Actor
from domain.incident import Incident, Source, Status
from domain.service import Scope
from web.runtime import open_tracker
from web.settings import Settings

SOURCES = [Source.MONITORING, Source.OPERATOR, Source.PARTNER]


def settings_for(database_url: str, workdir: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url,
        dev_signing_key_file=workdir / "dev-signing-key.pem",
    )


def open_app(database_url: str, workdir: Path) -> IncidentTracker:
    return open_tracker(settings_for(database_url, workdir), pool_size=4)


def register_service(tracker: IncidentTracker, name: str = "bench") -> ServiceRecord:
    return tracker.register_service(name, [Scope.READ, Scope.WRITE])


@dataclass(frozen=True)
class Seeded:
    """One seeded incident: its id and the status and version it was left at."""

    id: str
    status: str
    version: int


#: Status changes applied to a seeded incident, chosen by a per-incident "plan" number.
PLANS: dict[int, tuple[Status, ...]] = {
    0: (),
    1: (Status.IN_PROGRESS,),
    2: (Status.IN_PROGRESS, Status.RESOLVED),
}


def _incident(n: int, actor: Actor, plan: int) -> Incident:
    incident = Incident.report(
        uuid4(), SOURCES[n % 3], f"bench incident {n}: disk usage above 90% on db-{n % 50}",
        actor,
    )
    for status in PLANS[plan]:
        incident.change_status(status, actor)
    return incident


def seed_incidents(
    tracker: IncidentTracker,
    actor: Actor,
    plans: list[int],
    *,
    batch: int = 500,
    threads: int = 2,
) -> tuple[list[Seeded], int, float]:
    """Report one incident per entry of ``plans`` (applying that plan's status changes).

    Returns the incidents (in order), the number of events written, and the seconds taken.
    """
    started = time.perf_counter()

    def save(first: int) -> list[Seeded]:
        chunk = [_incident(first + i, actor, p) for i, p in enumerate(plans[first:first + batch])]
        tracker.save(*chunk)
        return [Seeded(str(i.id), i.status.value, i.version) for i in chunk]

    with ThreadPoolExecutor(threads) as pool:
        seeded = [s for part in pool.map(save, range(0, len(plans), batch)) for s in part]
    events = sum(s.version for s in seeded)
    return seeded, events, time.perf_counter() - started


def top_up_events(
    tracker: IncidentTracker, actor: Actor, target: int
) -> tuple[int, int, float]:
    """Add incidents (0, 1 or 2 status changes each) until the store holds ``target`` events.

    Returns (events before, events added, seconds).
    """
    before = tracker.recorder.max_notification_id() or 0
    missing = max(0, target - before)
    # Plans 0, 1, 2 in turn: 2 events per incident on average.
    plans = [n % 3 for n in range(missing // 2 + 1)]
    _, added, seconds = seed_incidents(tracker, actor, plans, batch=1000)
    return before, added, seconds


# The read model, straight in SQL -------------------------------------------------------------

_FILL_VIEW = """
INSERT INTO {table} (id, status, source, description, created_at, updated_at, version)
SELECT gen_random_uuid(),
       (ARRAY['new', 'in_progress', 'resolved', 'closed'])[1 + i %% 4],
       (ARRAY['monitoring', 'operator', 'partner'])[1 + i %% 3],
       'scale incident ' || i || ': disk usage above 90%% on db-' || (i %% 50),
       timestamptz '2025-01-01 00:00:00+00' + i * interval '10 ms',
       timestamptz '2025-01-01 00:00:00+00' + i * interval '10 ms',
       1
FROM generate_series(1, %s) AS i
"""
_SET_COUNTS = """
UPDATE incident_counts SET n = COALESCE(
    (SELECT v.n FROM unnest(%s::text[], %s::bigint[]) AS v(status, n)
     WHERE v.status = incident_counts.status), 0)
"""


class ScaleTables:
    """Read models of several sizes, side by side; ``activate(n)`` renames the one holding
    ``n`` incidents to ``incident_view`` (and sets the per-status counts), so measurements of
    the sizes can be interleaved without refilling.

    Rows are synthetic (a quarter per status), written with one INSERT ... SELECT
    generate_series each, on the server, then vacuumed and analysed as autovacuum would leave
    a long-lived table. Renaming invalidates the service's prepared statements, which
    PostgreSQL then re-plans against the renamed table.
    """

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connect = connect  # a fresh connection per step: another agent may restart PG
        self._counts: dict[int, dict[str, int]] = {}
        self.active: int | None = None

    @staticmethod
    def _name(size: int) -> str:
        return f"incident_view_s{size}"

    def fill(self, sizes: tuple[int, ...]) -> float:
        with self._connect() as conn:
            return self._fill(conn, sizes)

    def _fill(self, conn: Any, sizes: tuple[int, ...]) -> float:
        started = time.perf_counter()
        conn.execute("TRUNCATE incident_view")
        for size in sizes:
            table = "incident_view" if self.active is None else self._name(size)
            if table != "incident_view":
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
                conn.execute(sql.SQL("CREATE TABLE {} (LIKE incident_view INCLUDING ALL)")
                             .format(sql.Identifier(table)))
            conn.execute(sql.SQL(_FILL_VIEW).format(table=sql.Identifier(table)), (size,))
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
            rows = conn.execute(sql.SQL("SELECT status, count(*) FROM {} GROUP BY status")
                                .format(sql.Identifier(table))).fetchall()
            self._counts[size] = dict(rows)
            if self.active is None:
                self.active = size
                self._set_counts(conn, size)
        return time.perf_counter() - started

    def _set_counts(self, conn: Any, size: int) -> None:
        counts = self._counts[size]
        conn.execute(_SET_COUNTS, (list(counts), list(counts.values())))

    def activate(self, size: int) -> None:
        if size == self.active:
            return
        assert self.active is not None
        with self._connect() as conn, conn.transaction():
            conn.execute(sql.SQL("ALTER TABLE incident_view RENAME TO {}")
                         .format(sql.Identifier(self._name(self.active))))
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO incident_view")
                         .format(sql.Identifier(self._name(size))))
            self._set_counts(conn, size)
        self.active = size

    def drop_inactive(self) -> None:
        with self._connect() as conn:
            for size in self._counts:
                if size != self.active:
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}")
                                 .format(sql.Identifier(self._name(size))))


def clear_read_model(conn: Any) -> None:
    """Empty the views (and forget the projector's position) before timing a full replay."""
    conn.execute("TRUNCATE incident_view, revoked_sessions")
    conn.execute("UPDATE incident_counts SET n = 0")
    conn.execute("DELETE FROM incident_views_tracking")
    conn.execute("VACUUM ANALYZE incident_view")
