"""The read model's interface: what the projector writes and what the API reads.

Each database has one implementation (``projections.postgres``, ``projections.sqlite``) that
holds all of its SQL. Writes are synchronous (the projector is a plain process); reads are
``async`` because they run on the web server's event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from projections.incidents import Changes, IncidentRow

#: The application whose notification log the views follow (its ``Application.name``).
UPSTREAM = "IncidentTracker"


class ViewTransaction(Protocol):
    def reset(self) -> None:
        """Empty every view and forget the tracking position (the start of a replay)."""

    def apply(self, changes: Changes, position: int) -> None:
        """Apply a batch's changes and record ``position`` as reached, in this transaction.

        Raises if the changes contradict the view, or if another projector got there first.
        """


class ViewStore(Protocol):
    """The projector's side: every change commits together with its tracking position."""

    def transaction(self) -> AbstractContextManager[ViewTransaction]:
        """One database transaction, exclusive among projectors (a replay waits for it)."""

    def position(self) -> int:
        """The last notification id applied (0 before the first)."""

    def wait_for_events(self, timeout: float) -> None:
        """Block until new events may have been recorded, or until ``timeout`` passes."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class Page:
    items: list[IncidentRow]
    total: int


class IncidentQueries(Protocol):
    """The API's side: indexed reads, never a replay."""

    async def page(self, status: str | None, page: int, page_size: int) -> Page: ...

    async def get(self, incident_id: UUID) -> IncidentRow | None: ...

    async def position(self) -> int:
        """The projector's tracking position."""

    async def last_event(self) -> int:
        """The newest notification id in the event store (for lag)."""

    async def revoked_sessions(self, after: int) -> list[tuple[UUID, int]]:
        """Sessions revoked at positions after ``after``: ``(session_id, position)``."""

    def position_changes(self) -> Iterator[int] | None:
        """Push notifications of new positions, if the database has them."""

    async def close(self) -> None: ...
