from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from application.persistence import Database, event_store_env
from application.records import ServiceRecord
from application.tracker import IncidentTracker
from domain.service import Scope


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def tracker(
    request: pytest.FixtureRequest, new_database: Callable[[str], str]
) -> Iterator[IncidentTracker]:
    """The same application on each event store: in-memory, SQLite and PostgreSQL."""
    app = IncidentTracker(event_store_env(Database.from_url(new_database(request.param))))
    yield app
    app.close()


@pytest.fixture
def service(tracker: IncidentTracker) -> ServiceRecord:
    return tracker.register_service("monitoring", [Scope.READ, Scope.WRITE])
