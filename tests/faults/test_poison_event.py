"""A stored event the projector cannot decode: it stops loudly, in place, and resumes once fixed.

The server runs with PROJECTION_STALL=1, so that /ready gives up on a stuck projection soon.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from application.persistence import Database
from application.tracker import IncidentTracker
from domain.actor import Actor
from domain.incident import Incident, Source
from tests.faults.api import Api, serving
from web.runtime import open_tracker
from web.settings import Settings

STALL = 1.0  # PROJECTION_STALL: seconds without progress before /ready says not ready


@dataclass
class Poisoned:
    api: Api
    database_url: str
    auth: dict[str, str]
    poison_id: int
    good: StoredEvent
    not_ready: dict[str, Any]
    position_later: int


#: One kind of poison per backend: state that is not JSON, a topic no class answers to.
POISONS = {
    "postgres": lambda good: StoredEvent(
        good.originator_id, good.originator_version, good.topic, b'{"source": '),
    "sqlite": lambda good: StoredEvent(
        good.originator_id, good.originator_version, "domain.incident:IncidentRenamed",
        good.state),
}


def _fix(database_url: str, good: StoredEvent) -> None:
    """What an operator would do: put the event's correct content back."""
    db = Database.from_url(database_url)
    if db.kind == "postgres":
        with psycopg.connect(db.conninfo()) as conn:
            conn.execute("UPDATE incidenttracker_events SET topic = %s, state = %s "
                         "WHERE originator_id = %s", (good.topic, good.state, good.originator_id))
    else:
        with sqlite3.connect(db.name, timeout=10) as conn:
            conn.execute("UPDATE stored_events SET topic = ?, state = ? WHERE originator_id = ?",
                         (good.topic, good.state, good.originator_id.hex))  # type: ignore[union-attr]


def _insert_poison(tracker: IncidentTracker, kind: str) -> tuple[int, StoredEvent]:
    """A reported incident stored so that it cannot be decoded; its notification id and fix."""
    actor = Actor.of_service(uuid4(), "monitoring")
    incident = Incident.report(uuid4(), Source.PARTNER, "the poisoned one", actor)
    good = tracker.mapper.to_stored_event(incident.collect_events()[0])
    [poison_id] = tracker.recorder.insert_events([POISONS[kind](good)])  # type: ignore[misc]
    return poison_id, good


@pytest.fixture(scope="module", params=list(POISONS))
def poisoned(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_database: Callable[[str, Path], str],
) -> Iterator[Poisoned]:
    workdir = tmp_path_factory.mktemp(f"poison-{request.param}")
    url = module_database(request.param, workdir)
    with serving(url, workdir, PROJECTION_STALL=str(STALL)) as api:
        auth = api.auth()
        api.create_incident(auth, description="before the poison")
        tracker = open_tracker(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        try:
            poison_id, good = _insert_poison(tracker, request.param)
            service = tracker.register_service("after", ["read"])  # an event after the poison
            tracker.report_incident(Source.OPERATOR, "after the poison", service.actor)
        finally:
            tracker.close()
        not_ready = api.wait_until_ready(503, timeout=STALL + 15).json()
        time.sleep(0.5)  # the projector keeps retrying meanwhile; it must not move on
        later = api.http.get("/ready").json()["projection"]["position"]
        yield Poisoned(api, url, auth, poison_id, good, not_ready, later)


def test_the_projector_stops_just_before_an_event_it_cannot_decode(poisoned: Poisoned) -> None:
    projection = poisoned.not_ready["projection"]
    assert projection["position"] == poisoned.poison_id - 1
    assert projection["lag"] >= 2
    assert poisoned.position_later == poisoned.poison_id - 1


def test_ready_reports_not_ready_once_the_projection_stalls(poisoned: Poisoned) -> None:
    assert poisoned.not_ready["status"] == "unavailable"
    assert poisoned.not_ready["database"] == "ok"
    assert poisoned.not_ready["projection"]["stalled_seconds"] >= STALL


def test_the_projector_logs_an_error_naming_the_event(poisoned: Poisoned) -> None:
    log = poisoned.api.server.log()
    assert f"cannot decode notification {poisoned.poison_id}" in log
    assert any(" ERROR " in line and "incident_tracker.projector" in line
               for line in log.splitlines())


def test_once_the_event_is_fixed_the_projector_resumes(poisoned: Poisoned) -> None:
    _fix(poisoned.database_url, poisoned.good)
    ready = poisoned.api.wait_until_ready(200, timeout=15).json()
    assert ready["projection"]["lag"] == 0
    listed = poisoned.api.http.get("/api/v1/incidents/", headers=poisoned.auth).json()
    assert {i["description"] for i in listed["items"]} == {
        "before the poison", "the poisoned one", "after the poison"}
