"""The read model on each database: what the API can read after the projector ran."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.persistence import IntegrityError

from domain.incident import Source, Status
from projections.incidents import Changes, UnexpectedEventError, fold
from tests.projections.conftest import Stack


def report(stack: Stack, n: int, source: Source = Source.MONITORING) -> list[uuid.UUID]:
    return [
        stack.tracker.report_incident(source, f"incident {i}", stack.service.actor).state.id
        for i in range(n)
    ]


def test_the_list_shows_every_incident_oldest_first_with_a_total(stack: Stack) -> None:
    ids = report(stack, 45)
    stack.projector.catch_up()
    first = stack.query(stack.queries.page(None, 1, 20))
    third = stack.query(stack.queries.page(None, 3, 20))
    assert first.total == third.total == 45
    assert [r.id for r in first.items] == ids[:20]
    assert [r.id for r in third.items] == ids[40:]
    assert stack.query(stack.queries.page(None, 4, 20)).items == []


def test_the_status_filter_and_its_total_follow_status_changes(stack: Stack) -> None:
    ids = report(stack, 30)
    for incident_id in ids[:12]:
        stack.tracker.change_status(incident_id, Status.IN_PROGRESS, stack.service.actor)
    for incident_id in ids[:5]:
        stack.tracker.change_status(incident_id, Status.CLOSED, stack.service.actor)
    stack.projector.catch_up()
    totals = {s: stack.query(stack.queries.page(s.value, 1, 50)).total for s in Status}
    assert totals == {Status.NEW: 18, Status.IN_PROGRESS: 7, Status.RESOLVED: 0,
                      Status.CLOSED: 5}
    in_progress = stack.query(stack.queries.page("in_progress", 1, 50)).items
    assert [r.id for r in in_progress] == ids[5:12]
    assert all(r.status == "in_progress" and r.version == 2 for r in in_progress)


def test_a_single_incident_reads_as_its_latest_state(stack: Stack) -> None:
    [incident_id] = report(stack, 1)
    written = stack.tracker.change_status(incident_id, Status.RESOLVED, stack.service.actor)
    stack.projector.catch_up()
    row = stack.query(stack.queries.get(incident_id))
    assert (row.status, row.version, row.updated_at) == ("resolved", 2, written.state.updated_at)
    assert stack.query(stack.queries.get(uuid.uuid4())) is None


def test_the_position_reaches_the_last_event_and_revocations_are_listed(stack: Stack) -> None:
    session_id = stack.tracker.start_session(stack.service, "r1")
    stack.tracker.revoke_session(session_id, "test")
    last = stack.tracker.last_position()
    assert stack.projector.catch_up() == last
    assert stack.query(stack.queries.position()) == last
    assert stack.query(stack.queries.last_event()) == last
    assert [s for s, _ in stack.query(stack.queries.revoked_sessions(0))] == [session_id]
    assert stack.query(stack.queries.revoked_sessions(last)) == []


def test_a_batch_is_applied_once_even_if_offered_twice(stack: Stack) -> None:
    report(stack, 3)
    position = stack.projector.catch_up()
    notifications = stack.tracker.recorder.select_notifications(start=1, limit=100)
    again = fold(stack.tracker.mapper.to_domain_event(n) for n in notifications)
    with pytest.raises(IntegrityError), stack.projector.views.transaction() as tx:
        tx.apply(Changes(count_deltas=again.count_deltas), position)
    assert stack.query(stack.queries.page(None, 1, 50)).total == 3


def test_a_status_change_the_view_cannot_follow_stops_the_batch(stack: Stack) -> None:
    [incident_id] = report(stack, 1)
    stack.tracker.change_status(incident_id, Status.IN_PROGRESS, stack.service.actor)
    stack.projector.catch_up()
    notifications = stack.tracker.recorder.select_notifications(start=1, limit=100)
    change = fold([stack.tracker.mapper.to_domain_event(notifications[-1])])
    with pytest.raises(UnexpectedEventError), stack.projector.views.transaction() as tx:
        tx.apply(change, notifications[-1].id + 1)  # a StatusChanged applied a second time
    row = stack.query(stack.queries.get(incident_id))
    assert (row.status, row.version) == ("in_progress", 2)
    assert stack.projector.views.position() == notifications[-1].id


def test_a_replay_rebuilds_the_identical_view(stack: Stack) -> None:
    ids = report(stack, 25)
    for incident_id in ids[::2]:
        stack.tracker.change_status(incident_id, Status.RESOLVED, stack.service.actor)
    stack.projector.catch_up()
    before = stack.query(stack.queries.page(None, 1, 50))
    counts = {s: stack.query(stack.queries.page(s.value, 1, 50)).total for s in Status}

    report_ = stack.new_projector(batch_size=4).replay()

    after = stack.query(stack.queries.page(None, 1, 50))
    assert report_.events == stack.tracker.last_position() == report_.position
    assert after == before
    assert counts == {s: stack.query(stack.queries.page(s.value, 1, 50)).total for s in Status}


def test_two_projectors_never_apply_the_same_events_twice(stack: Stack) -> None:
    report(stack, 40)
    other = stack.new_projector(batch_size=3)
    failures = 0
    for _ in range(40):
        for projector in (stack.projector, other):
            try:
                projector.run_once()
            except IntegrityError:
                failures += 1
                projector._position = None  # what run() does after a failure: reload
    assert stack.query(stack.queries.page(None, 1, 50)).total == 40
    assert stack.projector.views.position() == stack.tracker.last_position()
    other.views.close()
