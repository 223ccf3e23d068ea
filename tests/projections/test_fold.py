"""What the projection makes of events, without a database."""

from __future__ import annotations

import uuid

import pytest

from domain.actor import Actor
from domain.incident import Incident, Source, Status
from domain.session import Session
from projections.incidents import UnexpectedEventError, fold

ACTOR = Actor("svc_x", "m")


def events_of(incident: Incident) -> list[object]:
    return list(incident.collect_events())


def test_a_report_becomes_a_new_row_and_counts_as_new() -> None:
    incident = Incident.report(uuid.uuid4(), Source.OPERATOR, "d", ACTOR)
    changes = fold(events_of(incident))
    row = changes.new_incidents[incident.id]
    assert (row.status, row.source, row.description, row.version) == ("new", "operator", "d", 1)
    assert changes.count_deltas == {"new": 1}
    assert not changes.status_updates


def test_changes_to_a_row_reported_in_the_same_batch_fold_into_the_row() -> None:
    incident = Incident.report(uuid.uuid4(), Source.OPERATOR, "d", ACTOR)
    incident.change_status(Status.IN_PROGRESS, ACTOR)
    incident.change_status(Status.RESOLVED, ACTOR)
    changes = fold(events_of(incident))
    row = changes.new_incidents[incident.id]
    assert (row.status, row.version) == ("resolved", 3)
    assert {k: v for k, v in changes.count_deltas.items() if v} == {"resolved": 1}


def test_several_changes_to_an_existing_row_keep_the_version_the_view_must_hold() -> None:
    incident = Incident.report(uuid.uuid4(), Source.OPERATOR, "d", ACTOR)
    incident.change_status(Status.IN_PROGRESS, ACTOR)
    events = events_of(incident)
    incident.change_status(Status.RESOLVED, ACTOR)
    incident.change_status(Status.CLOSED, ACTOR)
    changes = fold(events_of(incident))  # only the last two: the row is already viewed
    update = changes.status_updates[incident.id]
    assert (update.status, update.version, update.previous_version) == ("closed", 4, 2)
    assert {k: v for k, v in changes.count_deltas.items() if v} == {"in_progress": -1, "closed": 1}
    assert len(events) == 2


def test_a_revoked_session_is_listed() -> None:
    session = Session(service=ACTOR, scopes=["read"], refresh_token_id="r")
    session.revoke("logout")
    changes = fold(list(session.collect_events()))
    assert list(changes.revoked_sessions) == [session.id]


def test_events_the_views_do_not_show_change_nothing() -> None:
    session = Session(service=ACTOR, scopes=["read"], refresh_token_id="r")
    session.rotate("r", "s")
    assert not fold(list(session.collect_events()))


def test_a_gap_in_an_incidents_versions_within_a_batch_is_refused() -> None:
    incident = Incident.report(uuid.uuid4(), Source.OPERATOR, "d", ACTOR)
    incident.change_status(Status.IN_PROGRESS, ACTOR)
    incident.change_status(Status.RESOLVED, ACTOR)
    reported, _, resolved = events_of(incident)
    with pytest.raises(UnexpectedEventError):
        fold([reported, resolved])
