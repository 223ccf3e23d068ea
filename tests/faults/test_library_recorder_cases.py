"""The ``eventsourcing`` library's own recorder test cases, run against our PostgreSQL set-up.

The recorder is built exactly as production builds it: ``event_store_env`` and our
``FailFastApplicationRecorder``, which inserts through its own database function that takes the
table lock keeping notification ids in commit order (the library's function takes none). If a
setting ever let notification ids interleave, the projector could skip events; these cases
would catch it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
)
from eventsourcing.utils import Environment

from application.persistence import Database, FailFastApplicationRecorder, event_store_env


class _OurRecorder:
    """Mixin: each test gets a fresh database and the recorder production would use there."""

    database_url: str

    @pytest.fixture(autouse=True)
    def _fresh_database(self, new_database: Callable[[str], str]) -> None:
        self.database_url = new_database("postgres")
        self._factories: list[InfrastructureFactory] = []  # type: ignore[type-arg]

    def create_recorder(self) -> ApplicationRecorder:
        env = event_store_env(Database.from_url(self.database_url))
        env["CREATE_TABLE"] = "y"
        factory = InfrastructureFactory.construct(Environment("IncidentTracker", env))
        self._factories.append(factory)
        recorder = factory.application_recorder()
        assert isinstance(recorder, FailFastApplicationRecorder)
        assert recorder.pg_function_name_insert_events.startswith("it_insert_events_locked")
        return recorder

    def tearDown(self) -> None:
        for factory in self._factories:
            factory.close()


class TestOurRecorderPassesTheLibrarysApplicationRecorderCases(
    _OurRecorder, ApplicationRecorderTestCase[ApplicationRecorder]
):
    """Inserts and selects, concurrent writers without conflicts, concurrent throughput."""

    test_performance = None  # a benchmark, not a correctness check (see bench/)


class TestOurRecorderNeverInterleavesNotificationIdsOfConcurrentWriters(
    _OurRecorder, NonInterleavingNotificationIDsBaseCase
):
    """Two transactions racing to insert 1,000 events each get two unbroken id ranges."""
