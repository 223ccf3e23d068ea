"""An incident and its status workflow."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import ConflictError, InvalidValueError

MAX_DESCRIPTION_LENGTH = 10_000


class Source(StrEnum):
    OPERATOR = "operator"
    MONITORING = "monitoring"
    PARTNER = "partner"


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


#: The workflow: which statuses may follow each status. ``closed`` is final.
NEXT_STATUSES: dict[Status, tuple[Status, ...]] = {
    Status.NEW: (Status.IN_PROGRESS, Status.RESOLVED, Status.CLOSED),
    Status.IN_PROGRESS: (Status.RESOLVED, Status.CLOSED),
    Status.RESOLVED: (Status.IN_PROGRESS, Status.CLOSED),
    Status.CLOSED: (),
}


class TransitionNotAllowedError(ConflictError):
    """The requested status may not follow the current one."""

    def __init__(self, current: Status, requested: Status) -> None:
        self.current = current
        self.requested = requested
        self.allowed = NEXT_STATUSES[current]
        allowed = ", ".join(s.value for s in self.allowed) or "none, it is final"
        super().__init__(
            f"an incident cannot go from {current.value} to {requested.value}; "
            f"allowed next statuses: {allowed}"
        )


class Incident(Aggregate):
    """Something that went wrong, reported by a service and worked on until closed.

    Events store statuses and sources as their plain string values (the library would turn a
    ``str`` enum into a plain string anyway); the aggregate turns them back into enums.
    """

    @event("IncidentReported")
    def __init__(self, id: UUID, source: str, description: str, reported_by: Actor) -> None:
        self.source = Source(source)
        self.description = description
        self.reported_by = reported_by
        self.status = Status.NEW

    @classmethod
    def report(cls, id: UUID, source: Source, description: str, actor: Actor) -> Incident:
        """Report a new incident under an id chosen by the caller (random, or derived from an
        idempotency key so that a repeated create collides in the event store)."""
        if not description.strip() or len(description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidValueError(
                f"description must be 1..{MAX_DESCRIPTION_LENGTH} non-blank characters"
            )
        return cls(
            id=id, source=Source(source).value, description=description, reported_by=actor
        )

    def change_status(self, to: Status, actor: Actor) -> bool:
        """Move along the workflow. Returns False (and records nothing) if already there."""
        to = Status(to)
        if to is self.status:
            return False
        if to not in NEXT_STATUSES[self.status]:
            raise TransitionNotAllowedError(self.status, to)
        self._status_changed(from_status=self.status.value, to_status=to.value, changed_by=actor)
        return True

    @event("StatusChanged")
    def _status_changed(self, from_status: str, to_status: str, changed_by: Actor) -> None:
        self.status = Status(to_status)

    def is_same_report(self, source: Source, description: str, actor: Actor) -> bool:
        """Whether a repeated create (same idempotency key) asks for this very incident."""
        return (self.source, self.description, self.reported_by.id) == (
            Source(source),
            description,
            actor.id,
        )
