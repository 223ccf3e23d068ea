"""Who caused an event: the acting service, named by a non-secret id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Actor:
    """The acting service as the audit trail shows it.

    ``id`` is a one-way digest of the service id, because the service id itself is the
    credential that mints tokens and must never appear in tokens, logs or histories.
    """

    id: str
    name: str

    @classmethod
    def of_service(cls, service_id: UUID, name: str) -> Actor:
        return cls(id=public_service_id(service_id), name=name)


def public_service_id(service_id: UUID) -> str:
    """A stable, non-reversible handle for a service (the service id has 122 random bits)."""
    digest = hashlib.sha256(b"incident-tracker/service/" + service_id.bytes).hexdigest()
    return "svc_" + digest[:32]
