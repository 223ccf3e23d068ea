"""Another session locks the events table: writes fail fast with 503, reads stay fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from application.persistence import Database
from tests.faults.api import Api, serving
from tests.support.databases import PostgresDatabases

LOCK_TIMEOUT = 1.0


@dataclass(frozen=True)
class Timed:
    name: str
    status: int
    seconds: float
    retry_after: str | None


@dataclass(frozen=True)
class Contention:
    writes: list[Timed]
    reads: list[Timed]
    write_after_release: int


def _timed(name: str, call: Callable[[], httpx.Response]) -> Timed:
    started = time.perf_counter()
    response = call()
    return Timed(name, response.status_code, time.perf_counter() - started,
                 response.headers.get("retry-after"))


@pytest.fixture(scope="module")
def contention(
    postgres: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Contention]:
    url = postgres.create()
    workdir: Path = tmp_path_factory.mktemp("lock")
    with serving(url, workdir, DB_LOCK_TIMEOUT=str(int(LOCK_TIMEOUT))) as api:
        auth = api.auth()
        incident = api.create_incident(auth)
        path = f"/api/v1/incidents/{incident['id']}"
        writes: dict[str, Callable[[httpx.Client], httpx.Response]] = {
            f"create {n}": lambda c: c.post("/api/v1/incidents/", headers=auth,
                                            json={"source": "partner", "description": "x"})
            for n in range(4)  # they queue up for one group commit after another
        }
        writes |= {
            "create with a key": lambda c: c.post(
                "/api/v1/incidents/", headers={**auth, "Idempotency-Key": "lock-1"},
                json={"source": "partner", "description": "y"}),
            "patch": lambda c: c.patch(path, headers=auth, json={"status": "resolved"}),
        }
        conninfo = Database.from_url(url).conninfo()
        with psycopg.connect(conninfo) as locker, psycopg.connect(conninfo) as watcher:
            locker.execute("LOCK TABLE incidenttracker_events IN ACCESS EXCLUSIVE MODE")
            written, read = _write_while_reading(api, writes, auth, path, watcher)
            locker.rollback()
        after = api.http.post("/api/v1/incidents/", headers=auth,
                              json={"source": "partner", "description": "after"})
        slowest_read = max((r.seconds for r in read), default=0.0)
        print("LOCK writes:", [(w.name, w.status, round(w.seconds, 3)) for w in written],
              f"reads meanwhile: {len(read)}, the slowest {slowest_read:.3f} s")
        yield Contention(written, read, after.status_code)


def _wait_until_someone_waits_for_the_lock(watcher: psycopg.Connection[Any]) -> None:
    deadline = time.monotonic() + 10
    while not watcher.execute(
        "SELECT count(*) FROM pg_locks "
        "WHERE NOT granted AND relation = 'incidenttracker_events'::regclass"
    ).fetchone()[0]:  # type: ignore[index]
        assert time.monotonic() < deadline, "no write reached the lock"
        time.sleep(0.005)


def _write_while_reading(
    api: Api,
    writes: dict[str, Callable[[httpx.Client], httpx.Response]],
    auth: dict[str, str],
    path: str,
    watcher: psycopg.Connection[Any],
) -> tuple[list[Timed], list[Timed]]:
    """Send the writes at once; until they all return, keep reading on the same worker."""
    done = threading.Event()

    def write(name: str) -> Timed:
        with httpx.Client(base_url=api.url, timeout=10) as client:
            return _timed(name, lambda: writes[name](client))

    reads: list[Timed] = []
    with ThreadPoolExecutor(len(writes)) as pool:
        futures = [pool.submit(write, name) for name in writes]
        threading.Thread(target=lambda: ([f.result() for f in futures], done.set()),
                         daemon=True).start()
        _wait_until_someone_waits_for_the_lock(watcher)
        while not done.is_set():
            reads.append(_timed("list", lambda: api.http.get("/api/v1/incidents/",
                                                             headers=auth)))
            reads.append(_timed("get", lambda: api.http.get(path, headers=auth)))
        return [f.result() for f in futures], reads


def test_writes_to_a_locked_events_table_fail_with_503_and_retry_after(
    contention: Contention,
) -> None:
    assert [(w.name, w.status) for w in contention.writes] == [
        (w.name, 503) for w in contention.writes]
    assert all(w.retry_after for w in contention.writes)


def test_writes_give_up_within_the_lock_timeout(contention: Contention) -> None:
    assert max(w.seconds for w in contention.writes) < LOCK_TIMEOUT + 0.5, contention.writes


def test_reads_on_the_same_worker_stay_fast_while_writes_wait_for_the_lock(
    contention: Contention,
) -> None:
    assert len(contention.reads) >= 10, contention.reads  # they ran while the writes waited
    assert {r.status for r in contention.reads} == {200}
    assert max(r.seconds for r in contention.reads) < LOCK_TIMEOUT / 2, contention.reads


def test_writes_succeed_again_once_the_lock_is_released(contention: Contention) -> None:
    assert contention.write_after_release == 201
