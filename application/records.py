"""Plain data the application hands to its callers (no aggregates leak out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.actor import Actor
from domain.incident import Incident
from domain.service import Service


@dataclass(frozen=True)
class IncidentState:
    id: UUID
    status: str
    source: str
    description: str
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, incident: Incident) -> IncidentState:
        return cls(
            id=incident.id,
            status=incident.status.value,
            source=incident.source.value,
            description=incident.description,
            created_at=incident.created_on,
            updated_at=incident.modified_on,
            version=incident.version,
        )


@dataclass(frozen=True)
class IncidentWrite:
    """The outcome of a command on an incident.

    ``position`` is the notification id of the last event the command recorded (None if it
    recorded nothing); a caller that promises read-your-writes waits for the read model to reach
    it. ``replayed`` marks an idempotent repeat that returned the original incident.
    """

    state: IncidentState
    position: int | None
    replayed: bool = False


@dataclass(frozen=True)
class ServiceRecord:
    id: UUID
    name: str
    created_at: datetime
    scopes: tuple[str, ...]

    @property
    def actor(self) -> Actor:
        return Actor.of_service(self.id, self.name)

    @classmethod
    def of(cls, service: Service) -> ServiceRecord:
        return cls(service.id, service.name, service.created_on, service.scopes)


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    type: str
    at: datetime
    actor: Actor
    data: dict[str, Any]
