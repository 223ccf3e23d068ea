from __future__ import annotations

import uuid

import pytest

from domain.actor import Actor
from domain.errors import InvalidValueError
from domain.incident import (
    MAX_DESCRIPTION_LENGTH,
    NEXT_STATUSES,
    Incident,
    Source,
    Status,
    TransitionNotAllowedError,
)

ACTOR = Actor("svc_test", "monitoring")
OTHER = Actor("svc_other", "operator-console")


def reported(status: Status = Status.NEW) -> Incident:
    incident = Incident.report(uuid.uuid4(), Source.MONITORING, "disk full", ACTOR)
    path = {
        Status.NEW: [],
        Status.IN_PROGRESS: [Status.IN_PROGRESS],
        Status.RESOLVED: [Status.RESOLVED],
        Status.CLOSED: [Status.CLOSED],
    }[status]
    for step in path:
        incident.change_status(step, ACTOR)
    return incident


def test_a_reported_incident_is_new_and_records_who_reported_it() -> None:
    incident = reported()
    [event] = incident.collect_events()
    assert incident.status is Status.NEW
    assert incident.version == 1
    assert type(event).__name__ == "IncidentReported"
    assert (event.source, event.description, event.reported_by) == (
        "monitoring", "disk full", ACTOR,
    )


@pytest.mark.parametrize("description", ["", "   ", "\n\t", "x" * (MAX_DESCRIPTION_LENGTH + 1)])
def test_a_blank_or_too_long_description_is_rejected(description: str) -> None:
    with pytest.raises(InvalidValueError):
        Incident.report(uuid.uuid4(), Source.OPERATOR, description, ACTOR)


def test_a_description_of_exactly_the_maximum_length_is_accepted() -> None:
    incident = Incident.report(uuid.uuid4(), Source.PARTNER, "x" * MAX_DESCRIPTION_LENGTH, ACTOR)
    assert len(incident.description) == MAX_DESCRIPTION_LENGTH


@pytest.mark.parametrize(
    ("current", "target"),
    [(current, target) for current, targets in NEXT_STATUSES.items() for target in targets],
)
def test_every_allowed_transition_records_from_to_and_actor(
    current: Status, target: Status
) -> None:
    incident = reported(current)
    incident.collect_events()
    assert incident.change_status(target, OTHER) is True
    [event] = incident.collect_events()
    assert type(event).__name__ == "StatusChanged"
    assert (event.from_status, event.to_status, event.changed_by) == (
        current.value, target.value, OTHER,
    )
    assert incident.status is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (current, target)
        for current in Status
        for target in Status
        if target is not current and target not in NEXT_STATUSES[current]
    ],
)
def test_a_transition_outside_the_workflow_is_rejected_naming_the_allowed_ones(
    current: Status, target: Status
) -> None:
    incident = reported(current)
    version = incident.version
    with pytest.raises(TransitionNotAllowedError) as raised:
        incident.change_status(target, ACTOR)
    assert raised.value.allowed == NEXT_STATUSES[current]
    assert incident.version == version


def test_closed_is_final() -> None:
    assert NEXT_STATUSES[Status.CLOSED] == ()
    with pytest.raises(TransitionNotAllowedError, match="none, it is final"):
        reported(Status.CLOSED).change_status(Status.IN_PROGRESS, ACTOR)


@pytest.mark.parametrize("status", list(Status))
def test_setting_the_current_status_again_records_nothing(status: Status) -> None:
    incident = reported(status)
    incident.collect_events()
    assert incident.change_status(status, ACTOR) is False
    assert incident.collect_events() == []


def test_a_resolved_incident_can_be_reopened() -> None:
    incident = reported(Status.RESOLVED)
    incident.change_status(Status.IN_PROGRESS, ACTOR)
    assert incident.status is Status.IN_PROGRESS


def test_a_repeated_report_matches_only_the_same_content_from_the_same_service() -> None:
    incident = reported()
    assert incident.is_same_report(Source.MONITORING, "disk full", ACTOR)
    assert not incident.is_same_report(Source.OPERATOR, "disk full", ACTOR)
    assert not incident.is_same_report(Source.MONITORING, "disk nearly full", ACTOR)
    assert not incident.is_same_report(Source.MONITORING, "disk full", OTHER)
