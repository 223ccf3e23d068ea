"""Every connection to the database is cut (as a restart or a failover does): nobody notices.

The pooled connections of the API, its LISTEN connections and the projector's all die at once;
the next requests must find fresh ones by themselves instead of answering 503 (or 500).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from application.persistence import Database
from tests.faults.api import Api, serving
from tests.support.databases import ADMIN_URL, PostgresDatabases


@dataclass
class AfterTheCut:
    api: Api
    auth: dict[str, str]
    terminated: int
    statuses: list[int]
    seconds: list[float]
    created_id: str


def _cut_every_connection(database_url: str) -> int:
    name = Database.from_url(database_url).name
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchall()
    return len(rows)


@pytest.fixture(scope="module")
def after_the_cut(
    postgres: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AfterTheCut]:
    url = postgres.create()
    with serving(url, tmp_path_factory.mktemp("stale")) as api:
        auth = api.auth()
        incident = api.create_incident(auth)
        api.http.get("/api/v1/incidents/", headers=auth)  # every pool has connections now
        terminated = _cut_every_connection(url)
        calls = [
            lambda: api.http.post("/api/v1/incidents/", headers=auth,
                                  json={"source": "operator", "description": "after the cut"}),
            lambda: api.http.get("/api/v1/incidents/", headers=auth),
            lambda: api.http.get(f"/api/v1/incidents/{incident['id']}", headers=auth),
            lambda: api.http.patch(f"/api/v1/incidents/{incident['id']}", headers=auth,
                                   json={"status": "in_progress"}),
            lambda: api.http.get("/ready"),
        ]
        statuses, seconds, bodies = [], [], []
        for call in calls:
            started = time.perf_counter()
            response = call()
            seconds.append(time.perf_counter() - started)
            statuses.append(response.status_code)
            bodies.append(response.json())
        print("STALE", terminated, "connections cut; then", statuses,
              [f"{t:.3f}" for t in seconds])
        yield AfterTheCut(api, auth, terminated, statuses, seconds, bodies[0].get("id", ""))


def test_requests_after_every_connection_was_cut_succeed(after_the_cut: AfterTheCut) -> None:
    assert after_the_cut.terminated >= 5  # the API's pools, its listener, the projector's
    assert after_the_cut.statuses == [201, 200, 200, 200, 200]


def test_they_do_not_wait_for_a_reconnection_backoff(after_the_cut: AfterTheCut) -> None:
    assert max(after_the_cut.seconds) < 1.0, after_the_cut.seconds


def test_the_projector_reconnects_and_a_write_is_read_back_at_once(
    after_the_cut: AfterTheCut,
) -> None:
    listed = after_the_cut.api.http.get("/api/v1/incidents/", headers=after_the_cut.auth).json()
    assert after_the_cut.created_id in {i["id"] for i in listed["items"]}
