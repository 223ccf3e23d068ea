from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from application.records import ServiceRecord
from application.tracker import IncidentTracker
from projections.runner import Projector
from projections.views import IncidentQueries
from web.runtime import build_projector, open_queries, open_tracker, prepare_database
from web.settings import Settings


@dataclass
class Stack:
    """The write side, a projector and the API's queries, on one database."""

    settings: Settings
    tracker: IncidentTracker
    projector: Projector
    queries: IncidentQueries
    service: ServiceRecord
    loop: asyncio.AbstractEventLoop

    def query(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def new_projector(self, batch_size: int = 1000) -> Projector:
        return build_projector(self.settings, self.tracker, batch_size=batch_size)


@pytest.fixture
def stack(database_url: str, tmp_path: Any) -> Iterator[Stack]:
    settings = Settings(database_url=database_url,
                        dev_signing_key_file=tmp_path / "key.pem", _env_file=None)
    prepare_database(settings)
    tracker = open_tracker(settings)
    loop = asyncio.new_event_loop()
    queries = loop.run_until_complete(open_queries(settings, tracker))
    projector = build_projector(settings, tracker, batch_size=7)
    service = tracker.register_service("monitoring", ["read", "write"])
    yield Stack(settings, tracker, projector, queries, service, loop)
    loop.run_until_complete(queries.close())
    loop.close()
    projector.views.close()
    tracker.close()
