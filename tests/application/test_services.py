from __future__ import annotations

import uuid

import pytest

from application.errors import ServiceNotFoundError
from application.tracker import IncidentTracker
from domain.service import Scope


def test_a_registered_service_can_be_found_by_its_id(tracker: IncidentTracker) -> None:
    registered = tracker.register_service("partner-gw", [Scope.READ])
    found = tracker.get_service(registered.id)
    assert (found.name, found.scopes) == ("partner-gw", ("read",))


def test_an_unknown_service_is_not_found(tracker: IncidentTracker) -> None:
    with pytest.raises(ServiceNotFoundError):
        tracker.get_service(uuid.uuid4())


def test_an_incident_id_is_not_a_service(tracker: IncidentTracker) -> None:
    service = tracker.register_service("m", [Scope.WRITE])
    incident = tracker.report_incident("operator", "x", service.actor).state
    with pytest.raises(ServiceNotFoundError):
        tracker.get_service(incident.id)
