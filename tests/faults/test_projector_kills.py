"""A standalone projector SIGKILLed at random moments while writes stream in (issue 3).

One run per backend: three threads write through the application while the projector
(``incident-tracker project``) is killed at least 20 times, sometimes while it starts, mostly
within a few milliseconds of starting to catch up (so inside its batch transactions), and
restarted each time. Then it catches up one last time and is stopped with SIGTERM. The tests
below check what that run left behind.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from application.records import IncidentState
from tests.conftest import BACKENDS
from tests.faults import views
from tests.faults.streams import ProjectorProcess, WriteStream
from tests.support.server import ROOT
from web.runtime import open_tracker, prepare_database
from web.settings import Settings

KILLS = 20
pytestmark = pytest.mark.slow


@dataclass
class Kill:
    position_before: int
    position_after: int
    moment: str


@dataclass
class Outcome:
    database_url: str
    workdir: Path
    kills: list[Kill]
    truth: dict[Any, IncidentState]
    revoked_sessions: set[Any]
    view: views.View
    dump: dict[str, list[tuple[Any, ...]]]
    last_notification_id: int
    exit_code: int

    def summary(self) -> str:
        moved = sum(k.position_after > k.position_before for k in self.kills)
        moments = Counter(k.moment for k in self.kills)
        return (f"{len(self.kills)} kills ({dict(moments)}; in {moved} of them the projector had"
                f" committed batches); {self.last_notification_id} events,"
                f" {len(self.truth)} incidents, {len(self.revoked_sessions)} revoked sessions")


def _kill_repeatedly(
    projector: ProjectorProcess, reader: views.Reader, rng: random.Random
) -> list[Kill]:
    kills = []
    for n in range(KILLS):
        before = reader.position()
        projector.start()
        if n % 4 == 3:
            moment = "at any moment, even as it starts"
            time.sleep(rng.uniform(0.0, 1.2))
        elif n % 2:
            moment = "in its first batch"
            projector.wait_until_logged("projector started at position")
            time.sleep(rng.uniform(0.0, 0.1))
        else:
            moment = "after its first batch"
            _wait_for_progress(reader, before)
            time.sleep(rng.uniform(0.0, 0.05))
        projector.kill()
        kills.append(Kill(before, reader.position(), moment))
    return kills


def _wait_for_progress(reader: views.Reader, position: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while reader.position() <= position:
        assert time.monotonic() < deadline, "the projector made no progress"
        time.sleep(0.002)


def _catch_up(reader: views.Reader, last: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while reader.position() < last:
        assert time.monotonic() < deadline, "the restarted projector did not catch up"
        time.sleep(0.02)


@pytest.fixture(scope="module", params=BACKENDS)
def outcome(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_database: Callable[[str, Path], str],
) -> Iterator[Outcome]:
    workdir = tmp_path_factory.mktemp(f"kills-{request.param}")
    url = module_database(request.param, workdir)
    settings = Settings(database_url=url, dev_signing_key_file=workdir / "dev-key.pem",
                        _env_file=None)  # type: ignore[call-arg]
    prepare_database(settings)
    tracker = open_tracker(settings)
    projector = ProjectorProcess(url, workdir)
    reader = views.Reader(url)
    try:
        service = tracker.register_service("monitoring", ["read", "write"])
        with WriteStream(tracker, service) as stream:
            kills = _kill_repeatedly(projector, reader, random.Random(7))
        assert not stream.errors, stream.errors
        last = tracker.last_position()
        projector.start()
        _catch_up(reader, last)
        exit_code = projector.stop()
        result = Outcome(
            url, workdir, kills, views.truth(tracker, stream.incident_ids),
            stream.revoked_sessions, reader.view(),
            reader.dump(), last, exit_code,
        )
        print("KILLS", request.param, result.summary())
        yield result
    finally:
        if projector.process is not None and projector.process.poll() is None:
            projector.process.kill()
            projector.process.wait()
        reader.close()
        tracker.close()


def test_the_projector_was_killed_at_least_20_times_while_it_was_working(
    outcome: Outcome,
) -> None:
    assert len(outcome.kills) >= KILLS
    progressed = [k for k in outcome.kills if k.position_after > k.position_before]
    assert len(progressed) >= KILLS // 2, outcome.kills  # it was mid-stream, not idle


def test_every_listed_incident_equals_its_aggregate(outcome: Outcome) -> None:
    assert outcome.view.rows == outcome.truth


def test_no_incident_is_missing_or_listed_twice(outcome: Outcome) -> None:
    assert outcome.view.row_count == len(outcome.truth)
    assert sum(outcome.view.counts.values()) == len(outcome.truth)


def test_the_counts_per_status_equal_the_truth(outcome: Outcome) -> None:
    assert outcome.view.counts == views.status_counts(outcome.truth)


def test_every_revoked_session_is_listed(outcome: Outcome) -> None:
    assert outcome.revoked_sessions  # the stream revoked some
    assert outcome.view.revoked_sessions == outcome.revoked_sessions


def test_the_tracking_position_equals_the_last_notification_id(outcome: Outcome) -> None:
    assert outcome.view.position == outcome.last_notification_id


def test_the_projector_stops_cleanly_on_sigterm(outcome: Outcome) -> None:
    assert outcome.exit_code == 0


def test_a_replay_of_the_same_stream_rebuilds_an_identical_view(outcome: Outcome) -> None:
    env = {"DATABASE_URL": outcome.database_url,
           "DEV_SIGNING_KEY_FILE": str(outcome.workdir / "dev-key.pem"), "PYTHONPATH": str(ROOT)}
    replay = subprocess.run(
        [sys.executable, "-m", "web.cli", "replay", "--batch-size", "500"],
        cwd=outcome.workdir, env={**os.environ, **env}, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert f"position {outcome.last_notification_id}" in replay.stdout
    with views.Reader(outcome.database_url) as reader:
        assert reader.dump() == outcome.dump
