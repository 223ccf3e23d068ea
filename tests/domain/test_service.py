from __future__ import annotations

import uuid

import pytest

from domain.actor import Actor, public_service_id
from domain.errors import InvalidValueError
from domain.service import MAX_NAME_LENGTH, Scope, Service


def test_registering_records_name_and_scopes() -> None:
    service = Service.register("monitoring", [Scope.READ, Scope.WRITE])
    [event] = service.collect_events()
    assert type(event).__name__ == "ServiceRegistered"
    assert (event.name, event.scopes) == ("monitoring", ["read", "write"])


@pytest.mark.parametrize(
    ("name", "scopes"),
    [
        ("", [Scope.READ]),
        ("   ", [Scope.READ]),
        ("x" * (MAX_NAME_LENGTH + 1), [Scope.READ]),
        ("ok", []),
        ("ok", [Scope.READ, Scope.READ]),
    ],
)
def test_invalid_registrations_are_rejected(name: str, scopes: list[Scope]) -> None:
    with pytest.raises(InvalidValueError):
        Service.register(name, scopes)


def test_the_public_id_is_stable_and_does_not_reveal_the_service_id() -> None:
    service_id = uuid.uuid4()
    public = public_service_id(service_id)
    assert public == public_service_id(service_id)
    assert public != public_service_id(uuid.uuid4())
    assert service_id.hex not in public and str(service_id) not in public
    assert Actor.of_service(service_id, "m") == Actor(public, "m")
