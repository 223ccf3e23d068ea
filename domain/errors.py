"""Errors the domain raises when a rule is broken; the web layer maps each to an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the incident tracker was broken."""


class InvalidValueError(DomainError, ValueError):
    """A value does not satisfy a domain invariant (blank name, unknown status, ...)."""


class NotFoundError(DomainError):
    """The named aggregate does not exist."""


class ConflictError(DomainError):
    """The command conflicts with the current state of an aggregate."""
