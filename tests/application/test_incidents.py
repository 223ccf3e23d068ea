from __future__ import annotations

import itertools
import threading
import uuid

import pytest

from application.errors import (
    IdempotencyKeyReusedError,
    IncidentNotFoundError,
    VersionMismatchError,
    VersionNotFoundError,
)
from application.records import ServiceRecord
from application.tracker import IncidentTracker
from domain.incident import NEXT_STATUSES, Source, Status, TransitionNotAllowedError


def test_a_reported_incident_can_be_read_back_with_its_history(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    written = tracker.report_incident(Source.OPERATOR, "scooter not charging", service.actor)
    assert written.state.status == "new" and written.state.version == 1
    assert written.position is not None and written.position > 0
    [entry] = tracker.history(written.state.id)
    assert (entry.version, entry.type, entry.actor) == (1, "IncidentReported", service.actor)
    assert entry.data == {"source": "operator", "description": "scooter not charging"}


def test_a_status_change_is_recorded_with_from_to_and_actor(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    incident = tracker.report_incident(Source.MONITORING, "cpu hot", service.actor).state
    written = tracker.change_status(incident.id, Status.IN_PROGRESS, service.actor)
    assert (written.state.status, written.state.version) == ("in_progress", 2)
    assert written.state.updated_at >= written.state.created_at
    entries = tracker.history(incident.id)
    assert [e.type for e in entries] == ["IncidentReported", "StatusChanged"]
    assert entries[1].data == {"from": "new", "to": "in_progress"}


def test_setting_the_same_status_is_a_no_op(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    incident = tracker.report_incident(Source.MONITORING, "cpu hot", service.actor).state
    written = tracker.change_status(incident.id, Status.NEW, service.actor)
    assert written.position is None and written.state.version == 1
    assert len(tracker.history(incident.id)) == 1


def test_a_forbidden_transition_names_the_allowed_statuses(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    incident = tracker.report_incident(Source.MONITORING, "cpu hot", service.actor).state
    tracker.change_status(incident.id, Status.CLOSED, service.actor)
    with pytest.raises(TransitionNotAllowedError) as raised:
        tracker.change_status(incident.id, Status.IN_PROGRESS, service.actor)
    assert raised.value.allowed == NEXT_STATUSES[Status.CLOSED]


def test_unknown_incidents_are_not_found(tracker: IncidentTracker, service: ServiceRecord) -> None:
    with pytest.raises(IncidentNotFoundError):
        tracker.change_status(uuid.uuid4(), Status.CLOSED, service.actor)
    with pytest.raises(IncidentNotFoundError):
        tracker.history(uuid.uuid4())
    with pytest.raises(IncidentNotFoundError):
        tracker.incident_at(uuid.uuid4(), 1)


def test_other_aggregates_are_not_incidents(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    with pytest.raises(IncidentNotFoundError):
        tracker.history(service.id)
    with pytest.raises(IncidentNotFoundError):
        tracker.change_status(service.id, Status.CLOSED, service.actor)


def test_time_travel_returns_each_past_version(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    incident = tracker.report_incident(Source.PARTNER, "api down", service.actor).state
    for status in (Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED):
        tracker.change_status(incident.id, status, service.actor)
    seen = [tracker.incident_at(incident.id, v).status for v in range(1, 5)]
    assert seen == ["new", "in_progress", "resolved", "closed"]
    with pytest.raises(VersionNotFoundError):
        tracker.incident_at(incident.id, 5)


def test_if_match_rejects_a_stale_version(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    incident = tracker.report_incident(Source.PARTNER, "api down", service.actor).state
    tracker.change_status(incident.id, Status.IN_PROGRESS, service.actor, expected_version=1)
    with pytest.raises(VersionMismatchError) as raised:
        tracker.change_status(incident.id, Status.RESOLVED, service.actor, expected_version=1)
    assert raised.value.current == 2


def test_an_idempotency_key_returns_the_original_incident(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    first = tracker.report_incident(Source.OPERATOR, "fire", service.actor, "key-1")
    again = tracker.report_incident(Source.OPERATOR, "fire", service.actor, "key-1")
    assert again.state.id == first.state.id and again.replayed and not first.replayed
    assert len(tracker.history(first.state.id)) == 1


def test_an_idempotency_key_with_a_different_body_is_rejected(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    tracker.report_incident(Source.OPERATOR, "fire", service.actor, "key-2")
    with pytest.raises(IdempotencyKeyReusedError):
        tracker.report_incident(Source.OPERATOR, "flood", service.actor, "key-2")


def test_idempotency_keys_are_scoped_to_the_service(tracker: IncidentTracker) -> None:
    a = tracker.register_service("a", ["write"])
    b = tracker.register_service("b", ["write"])
    first = tracker.report_incident(Source.OPERATOR, "fire", a.actor, "shared-key")
    second = tracker.report_incident(Source.OPERATOR, "fire", b.actor, "shared-key")
    assert first.state.id != second.state.id


def test_concurrent_status_changes_lose_nothing_and_stay_in_the_workflow(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    incident = tracker.report_incident(Source.MONITORING, "flapping", service.actor).state
    targets = [Status.IN_PROGRESS, Status.RESOLVED] * 10
    errors: list[Exception] = []

    def change(target: Status) -> None:
        try:
            tracker.change_status(incident.id, target, service.actor)
        except TransitionNotAllowedError as error:
            errors.append(error)

    threads = [threading.Thread(target=change, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    history = tracker.history(incident.id)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    for before, after in itertools.pairwise(history[1:]):
        assert after.data["from"] == before.data["to"]  # each change starts where the last ended
    assert not errors  # in_progress <-> resolved is always allowed (or a no-op)
