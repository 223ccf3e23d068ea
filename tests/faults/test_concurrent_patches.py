"""40 concurrent PATCHes on one incident, over HTTP: no lost update, one winner per version."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.incident import NEXT_STATUSES, Status
from tests.conftest import BACKENDS
from tests.faults.api import Api, serving

CONCURRENT = 40


@pytest.fixture(scope="module", params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    module_database: Callable[[str, Path], str],
) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp(f"patches-{request.param}")
    with serving(module_database(request.param, workdir), workdir) as api:
        yield api


@dataclass(frozen=True)
class Patch:
    actor_id: str
    target: str
    status_code: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Request:
    auth: dict[str, str]
    actor_id: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)


def _patch_all_at_once(api: Api, incident_id: str, requests: list[Request]) -> list[Patch]:
    """Send every PATCH at the same moment, each on its own connection."""
    start = threading.Barrier(len(requests))

    def send(request: Request) -> Patch:
        with httpx.Client(base_url=api.url, timeout=30) as client:
            client.get("/health")  # connect first, so that the requests really race
            start.wait()
            response = client.patch(f"/api/v1/incidents/{incident_id}",
                                    headers={**request.auth, **request.headers},
                                    json={"status": request.target})
        return Patch(request.actor_id, request.target, response.status_code, response.json())

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def _assert_valid_workflow(events: list[dict[str, Any]]) -> None:
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "IncidentReported"
    status = Status.NEW
    for event in events[1:]:
        assert event["type"] == "StatusChanged"
        assert event["data"]["from"] == status.value
        status = Status(event["data"]["to"])
        assert status in NEXT_STATUSES[Status(event["data"]["from"])]


@pytest.fixture(scope="module")
def without_if_match(api: Api) -> tuple[list[Patch], list[dict[str, Any]], dict[str, Any]]:
    """40 services PATCH one incident at once, each to a random target, without If-Match."""
    services = [api.service() for _ in range(CONCURRENT)]
    auth = services[0][0]
    incident = api.create_incident(auth)
    rng = random.Random(3)
    targets = rng.choices(["in_progress", "resolved", "closed"], weights=[10, 10, 1],
                          k=CONCURRENT)
    patches = _patch_all_at_once(api, incident["id"], [
        Request(service_auth, actor_id, target)
        for (service_auth, actor_id), target in zip(services, targets, strict=True)
    ])
    history = api.history(auth, incident["id"])
    final = api.http.get(f"/api/v1/incidents/{incident['id']}", headers=auth).json()
    print("PATCHES without If-Match:", Counter(p.status_code for p in patches),
          f"{len(history) - 1} changes recorded")
    return patches, history, final


def test_concurrent_patches_without_if_match_never_fail_with_a_server_error(
    without_if_match: tuple[list[Patch], list[dict[str, Any]], dict[str, Any]],
) -> None:
    patches, _, _ = without_if_match
    assert {p.status_code for p in patches} <= {200, 409}
    assert any(p.status_code == 200 for p in patches)


def test_concurrent_patches_leave_a_valid_workflow_history(
    without_if_match: tuple[list[Patch], list[dict[str, Any]], dict[str, Any]],
) -> None:
    _, history, final = without_if_match
    _assert_valid_workflow(history)
    assert final["version"] == len(history)
    assert final["status"] == (history[-1]["data"]["to"] if len(history) > 1 else "new")


def test_every_acknowledged_change_is_in_the_history_exactly_once(
    without_if_match: tuple[list[Patch], list[dict[str, Any]], dict[str, Any]],
) -> None:
    patches, history, _ = without_if_match
    changes = history[1:]
    by_actor = {e["actor"]["id"]: e for e in changes}
    assert len(by_actor) == len(changes)  # no request was applied twice
    acknowledged = {p.actor_id: p for p in patches if p.status_code == 200}
    for actor_id, event in by_actor.items():  # every event was acknowledged, as it is
        patch = acknowledged[actor_id]
        assert (patch.body["version"], patch.body["status"]) == (
            event["version"], event["data"]["to"])
    state_at = {1: "new", **{e["version"]: e["data"]["to"] for e in changes}}
    for patch in acknowledged.values():  # an acknowledgement without an event was a no-op
        if patch.actor_id not in by_actor:
            assert patch.target == patch.body["status"] == state_at[patch.body["version"]]


@pytest.fixture(scope="module")
def with_the_same_if_match(api: Api) -> tuple[list[Patch], list[dict[str, Any]]]:
    """40 PATCHes of one incident at version 1, all with ``If-Match: "1"``."""
    auth = api.auth()
    incident = api.create_incident(auth)
    targets = ["in_progress", "resolved", "closed"] * CONCURRENT
    patches = _patch_all_at_once(api, incident["id"], [
        Request(auth, "", targets[n], {"If-Match": '"1"'}) for n in range(CONCURRENT)
    ])
    print("PATCHES with If-Match:", Counter(p.status_code for p in patches))
    return patches, api.history(auth, incident["id"])


def test_exactly_one_patch_wins_per_if_match_version(
    with_the_same_if_match: tuple[list[Patch], list[dict[str, Any]]],
) -> None:
    patches, history = with_the_same_if_match
    winners = [p for p in patches if p.status_code == 200]
    assert len(winners) == 1
    assert sorted(p.status_code for p in patches) == [200] + [412] * (CONCURRENT - 1)
    assert len(history) == 2
    assert (winners[0].body["version"], winners[0].body["status"]) == (
        2, history[1]["data"]["to"])


def test_the_losers_learn_the_current_version(
    with_the_same_if_match: tuple[list[Patch], list[dict[str, Any]]],
) -> None:
    patches, _ = with_the_same_if_match
    assert {p.body.get("current_version") for p in patches if p.status_code == 412} == {2}
