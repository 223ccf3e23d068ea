"""A client system that reports and manages incidents."""

from __future__ import annotations

from enum import StrEnum

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import InvalidValueError

MAX_NAME_LENGTH = 255


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


class Service(Aggregate):
    """A registered client system. Its id is the secret that mints its tokens."""

    @event("ServiceRegistered")
    def __init__(self, name: str, scopes: list[str]) -> None:
        self.name = name
        self.scopes = tuple(scopes)

    @classmethod
    def register(cls, name: str, scopes: list[Scope]) -> Service:
        if not name.strip() or len(name) > MAX_NAME_LENGTH:
            raise InvalidValueError(f"name must be 1..{MAX_NAME_LENGTH} non-blank characters")
        if not scopes or len(set(scopes)) != len(scopes):
            raise InvalidValueError("scopes must be a non-empty list without duplicates")
        return cls(name=name, scopes=[Scope(s).value for s in scopes])

    @property
    def actor(self) -> Actor:
        return Actor.of_service(self.id, self.name)
