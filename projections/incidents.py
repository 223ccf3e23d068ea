"""What the read model makes of each event: the incident list, per-status counts, revocations.

A batch of events is folded into one ``Changes`` value, so that a view applies a whole batch in
one transaction with a handful of statements, whatever the batch size.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any, NamedTuple
from uuid import UUID

from domain.incident import Incident, Status
from domain.session import Session


class IncidentRow(NamedTuple):
    """One line of the incident list, as the view stores it (a tuple: pages build 50 at once)."""

    id: UUID
    status: str
    source: str
    description: str
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True)
class StatusUpdate:
    """The latest status of a listed incident; ``previous_version`` is what the view must hold."""

    id: UUID
    status: str
    updated_at: datetime
    version: int
    previous_version: int


@dataclass
class Changes:
    """The net effect of a batch of events on the views."""

    new_incidents: dict[UUID, IncidentRow] = field(default_factory=dict)
    status_updates: dict[UUID, StatusUpdate] = field(default_factory=dict)
    count_deltas: Counter[str] = field(default_factory=Counter)
    revoked_sessions: dict[UUID, datetime] = field(default_factory=dict)
    #: The notification id of each revocation, when the caller knew it (the projector does).
    #: Views list revocations by it, so a replay, whatever its batches, lists them alike.
    revocation_positions: dict[UUID, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.new_incidents
            or self.status_updates
            or any(self.count_deltas.values())
            or self.revoked_sessions
        )


class UnexpectedEventError(Exception):
    """An event contradicts the view (e.g. a status change of an unknown incident)."""


def fold(
    events: Iterable[Any], into: Changes | None = None, positions: Iterable[int] | None = None
) -> Changes:
    """Fold domain events, in notification order, into the changes they make to the views.

    ``positions``, if given, are the events' notification ids, in the same order.
    """
    changes = into if into is not None else Changes()
    for event, position in zip(events, positions or repeat(None), strict=False):
        if isinstance(event, Incident.IncidentReported):
            changes.new_incidents[event.originator_id] = IncidentRow(
                id=event.originator_id,
                status=Status.NEW.value,
                source=event.source,
                description=event.description,
                created_at=event.timestamp,
                updated_at=event.timestamp,
                version=event.originator_version,
            )
            changes.count_deltas[Status.NEW.value] += 1
        elif isinstance(event, Incident.StatusChanged):
            _fold_status_change(changes, event)
        elif isinstance(event, Session.SessionRevoked):
            changes.revoked_sessions[event.originator_id] = event.timestamp
            if position is not None:
                changes.revocation_positions[event.originator_id] = position
    return changes


def _fold_status_change(changes: Changes, event: Any) -> None:
    incident_id = event.originator_id
    new_row = changes.new_incidents.get(incident_id)
    if new_row is not None:
        if new_row.version != event.originator_version - 1:
            raise UnexpectedEventError(f"out-of-order event for incident {incident_id}")
        changes.new_incidents[incident_id] = new_row._replace(
            status=event.to_status,
            updated_at=event.timestamp,
            version=event.originator_version,
        )
    else:
        earlier = changes.status_updates.get(incident_id)
        changes.status_updates[incident_id] = StatusUpdate(
            incident_id,
            event.to_status,
            event.timestamp,
            event.originator_version,
            earlier.previous_version if earlier else event.originator_version - 1,
        )
    changes.count_deltas[event.from_status] -= 1
    changes.count_deltas[event.to_status] += 1
