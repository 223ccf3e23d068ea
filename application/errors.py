"""Errors of the use cases that are not rules of a single aggregate."""

from __future__ import annotations

from domain.errors import ConflictError, InvalidValueError, NotFoundError


class IncidentNotFoundError(NotFoundError):
    pass


class ServiceNotFoundError(NotFoundError):
    pass


class VersionNotFoundError(NotFoundError):
    """Time travel asked for a version the incident has not reached."""


class VersionMismatchError(ConflictError):
    """``If-Match`` named a version that is no longer (or not yet) the current one."""

    def __init__(self, expected: int, current: int) -> None:
        self.expected = expected
        self.current = current
        super().__init__(f"the incident is at version {current}, not {expected}")


class IdempotencyKeyReusedError(InvalidValueError):
    """The same idempotency key came back with a different request."""


class SessionNotFoundError(NotFoundError):
    pass
