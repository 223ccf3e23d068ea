"""PostgreSQL stops for a few seconds under load: 503s, recovery, nothing acknowledged lost.

Clients write continuously with an ``Idempotency-Key`` and keep a ledger of every 2xx; a
failed or timed-out write is retried with the same key until it is acknowledged. Meanwhile
PostgreSQL is stopped (``pg_ctlcluster ... stop -m fast``) and started again a few seconds
later. This stops the machine's shared PostgreSQL, so the outage is kept short and the cluster
is always started again, whatever happens.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.faults.api import Api, serving
from tests.support.databases import ADMIN_URL, PostgresDatabases

OUTAGE = 1.5  # seconds between "stopped" and "start again" (stop and start take more)
WRITERS = 4
CLIENT_TIMEOUT = 8.0
IMPATIENT = 0.003  # some first attempts give up this fast: timed out, maybe written anyway
pytestmark = pytest.mark.slow


def _cluster() -> list[str]:
    """The local cluster that the test databases live in (as scripts/ensure-postgres finds it)."""
    assert urlsplit(ADMIN_URL).hostname in ("127.0.0.1", "localhost"), "not a local cluster"
    version = sorted(Path("/etc/postgresql").iterdir(), key=lambda p: int(p.name))[-1].name
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _is_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


@contextmanager
def postgres_stopped() -> Iterator[None]:
    """PostgreSQL is down inside the block, and always up again after it."""
    cluster = _cluster()
    try:
        subprocess.run([*cluster, "stop", "-m", "fast"], check=True, timeout=60,
                       capture_output=True)
        yield
    finally:
        for _ in range(3):  # other sessions share this cluster: never leave it down
            subprocess.run([*cluster, "start"], check=False, timeout=120, capture_output=True)
            deadline = time.monotonic() + 30
            while not _is_up() and time.monotonic() < deadline:
                time.sleep(0.1)
            if _is_up():
                break


@dataclass(frozen=True)
class Attempt:
    key: str
    started: float
    ended: float
    status: int | None  # None: no response (client timeout or connection error)
    retry_after: str | None = None
    replayed: bool = False
    impatient: bool = False

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Load:
    """Writers with a ledger, and a reader, running against one server."""

    api: Api
    auth: dict[str, str]
    attempts: list[Attempt] = field(default_factory=list)
    reads: list[Attempt] = field(default_factory=list)
    ledger: dict[str, str] = field(default_factory=dict)  # key -> incident id, from 2xx
    conflicts: list[str] = field(default_factory=list)  # a key acknowledged with two ids
    unfinished: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, seed: int) -> None:
        rng = random.Random(seed)
        pending: str | None = None
        deadline: float | None = None
        with httpx.Client(base_url=self.api.url, timeout=CLIENT_TIMEOUT) as client:
            while True:
                if self.stop.is_set():
                    if pending is None:
                        return
                    deadline = deadline or time.monotonic() + 30
                    if time.monotonic() > deadline:
                        self.unfinished.append(pending)
                        return
                impatient = pending is None and rng.random() < 0.1
                key = pending or uuid.uuid4().hex
                pending = None if self._send(client, key, impatient) else key
                if pending:
                    time.sleep(0.02)  # a real client honours Retry-After; this one hurries

    def _send(self, client: httpx.Client, key: str, impatient: bool) -> bool:
        started = time.monotonic()
        try:
            response = client.post(
                "/api/v1/incidents/", headers={**self.auth, "Idempotency-Key": key},
                json={"source": "monitoring", "description": f"outage test {key}"},
                timeout=IMPATIENT if impatient else CLIENT_TIMEOUT)
        except httpx.HTTPError:
            self._record(Attempt(key, started, time.monotonic(), None, impatient=impatient))
            return False
        self._record(Attempt(key, started, time.monotonic(), response.status_code,
                             response.headers.get("retry-after"),
                             response.headers.get("idempotent-replayed") == "true", impatient))
        if response.status_code != 201:
            return False
        with self.lock:
            known = self.ledger.setdefault(key, response.json()["id"])
            if known != response.json()["id"]:
                self.conflicts.append(key)
        return True

    def _record(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def read(self) -> None:
        with httpx.Client(base_url=self.api.url, timeout=CLIENT_TIMEOUT) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get("/api/v1/incidents/", headers=self.auth).status_code
                except httpx.HTTPError:
                    status = None
                self.reads.append(Attempt("read", started, time.monotonic(), status))
                time.sleep(0.05)


@dataclass
class Outage:
    load: Load
    stopping: float  # when the stop command was issued
    down: float  # when PostgreSQL had stopped
    starting: float  # when the start command was issued
    up: float  # when PostgreSQL accepted connections again
    recovered_after: float  # from "up" to the end of the first later 2xx write
    ready_after: float  # from "up" to /ready answering 200
    total: int  # incidents the API lists afterwards
    missing: list[str]  # acknowledged incidents the API does not find

    def during(self, attempts: list[Attempt]) -> list[Attempt]:
        """Those sent and answered while PostgreSQL was down."""
        return [a for a in attempts if a.started >= self.down and a.ended <= self.starting]

    def summary(self) -> str:
        writes, reads = self.during(self.load.attempts), self.during(self.load.reads)
        return (
            f"stop took {self.down - self.stopping:.2f} s, down {self.starting - self.down:.2f} s,"
            f" start took {self.up - self.starting:.2f} s; during the outage: {len(writes)} writes"
            f" ({sum(a.status == 503 for a in writes)} x 503, max"
            f" {max((a.seconds for a in writes), default=0):.3f} s), {len(reads)} reads (max"
            f" {max((a.seconds for a in reads), default=0):.3f} s); all 503s:"
            f" {sum(a.status == 503 for a in self.load.attempts + self.load.reads)};"
            f" recovered {self.recovered_after:.2f} s and ready {self.ready_after:.2f} s after"
            f" start; ledger {len(self.load.ledger)}, listed {self.total}, missing"
            f" {len(self.missing)}, keys retried"
            f" {len({a.key for a in self.load.attempts if a.status != 201})} ("
            f"{len({a.key for a in self.load.attempts if a.status == 503})} after a 503),"
            f" timed out (on"
            f" purpose) {sum(a.impatient and a.status is None for a in self.load.attempts)},"
            f" replayed"
            f" {sum(a.replayed for a in self.load.attempts)}, conflicts {len(self.load.conflicts)}"
        )


def _first_success_after(load: Load, moment: float, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with load.lock:
            done = [a.ended for a in load.attempts if a.started >= moment and a.status == 201]
        if done:
            return min(done) - moment
        time.sleep(0.02)
    raise AssertionError("no write succeeded after PostgreSQL came back")


@pytest.fixture(scope="module")
def outage(
    postgres: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Outage]:
    url = postgres.create()
    workdir = tmp_path_factory.mktemp("restart")
    with serving(url, workdir) as api:
        load = Load(api, api.auth())
        threads = [threading.Thread(target=load.write, args=(n,)) for n in range(WRITERS)]
        threads.append(threading.Thread(target=load.read))
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)  # normal load first
            stopping = time.monotonic()
            with postgres_stopped():
                down = time.monotonic()
                time.sleep(OUTAGE)
                starting = time.monotonic()
            up = time.monotonic()
            recovered_after = _first_success_after(load, up)
            api.wait_until_ready(200, timeout=30)
            ready_after = time.monotonic() - up
            time.sleep(1.0)  # normal load again
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(60)
        total = api.http.get("/api/v1/incidents/", headers=load.auth).json()["total"]
        missing = [
            key for key, incident_id in load.ledger.items()
            if api.http.get(f"/api/v1/incidents/{incident_id}", headers=load.auth)
            .json().get("description") != f"outage test {key}"
        ]
        result = Outage(load, stopping, down, starting, up, recovered_after, ready_after, total,
                        missing)
        print("OUTAGE", result.summary())
        yield result


def test_no_request_fails_with_a_server_error_or_hangs_during_the_outage(outage: Outage) -> None:
    statuses = {a.status for a in outage.load.attempts + outage.load.reads if not a.impatient}
    assert statuses <= {201, 200, 503}, statuses
    assert all(a.status is not None for a in outage.load.attempts
               if a.started >= outage.stopping and not a.impatient), "a request hung"


def test_writes_during_the_outage_get_503_with_retry_after_quickly(outage: Outage) -> None:
    during = outage.during(outage.load.attempts)
    assert len(during) >= 20, during
    assert {(a.status, a.retry_after is not None) for a in during} == {(503, True)}
    assert max(a.seconds for a in during) < 1.0


def test_reads_during_the_outage_get_503_quickly(outage: Outage) -> None:
    during = outage.during(outage.load.reads)
    assert during, "no read ran during the outage"
    assert {r.status for r in during} == {503}
    assert max(r.seconds for r in during) < 1.0


def test_the_service_recovers_by_itself_within_10_seconds(outage: Outage) -> None:
    assert outage.recovered_after < 10.0
    assert outage.ready_after < 10.0


def test_every_acknowledged_write_is_there_after_the_outage(outage: Outage) -> None:
    assert not outage.load.unfinished
    assert len(outage.load.ledger) > 50
    assert outage.missing == []


def test_retries_with_the_same_idempotency_key_created_no_duplicates(outage: Outage) -> None:
    retried = {a.key for a in outage.load.attempts if a.status != 201}
    assert retried, "no write was retried"
    assert outage.load.conflicts == []
    assert outage.total == len(outage.load.ledger)


def test_a_timed_out_write_that_was_recorded_is_replayed_not_repeated(outage: Outage) -> None:
    timed_out = {a.key for a in outage.load.attempts if a.impatient and a.status is None}
    unacknowledged = {a.key for a in outage.load.attempts if a.status != 201}
    replayed = {a.key for a in outage.load.attempts if a.replayed}
    assert replayed & timed_out, "no timed-out write had been recorded"
    assert replayed <= unacknowledged  # only a retry finds its incident already there
