"""The projector: follows the notification log and applies it to the views, batch by batch.

Each batch's view changes and its tracking position commit in one transaction, so a crash at
any instant neither loses nor repeats an event. An event that cannot be applied stops the
projector where it is (it logs, backs off and tries again) instead of being skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Notification

from projections.incidents import fold
from projections.views import ViewStore

log = logging.getLogger("incident_tracker.projector")

#: Reads up to ``limit`` notifications with ids greater than ``after``.
ReadNotifications = Callable[[int, int], Sequence[Notification]]


@dataclass(frozen=True)
class ReplayReport:
    events: int
    seconds: float
    position: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class Projector:
    def __init__(
        self,
        views: ViewStore,
        read: ReadNotifications,
        decode: Callable[[Notification], Any],
        batch_size: int = 1000,
        idle_wait: float = 1.0,
    ) -> None:
        self.views = views
        self._read = read
        self._decode = decode
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._position: int | None = None

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self.views.position()
        return self._position

    def run_once(self) -> int:
        """Apply the next batch, if any. Returns how many events it held."""
        notifications = self._read(self.position, self._batch_size)
        if not notifications:
            return 0
        changes = fold(self._decode(n) for n in notifications)
        last = notifications[-1].id
        with self.views.transaction() as tx:
            tx.apply(changes, last)
        self._position = last
        return len(notifications)

    def catch_up(self) -> int:
        """Apply batches until the log is exhausted; returns the final position."""
        while self.run_once():
            pass
        return self.position

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set, surviving database outages and bad events."""
        backoff = 0.0
        log.info("projector started at position %d", self.position)
        while not stop.is_set():
            try:
                if not self.run_once():
                    self.views.wait_for_events(self._idle_wait)
                backoff = 0.0
            except Exception:
                log.exception(
                    "projector stopped at position %s; it will retry without skipping",
                    self._position,
                )
                self._position = None  # reload: another projector or a replay may have moved it
                backoff = min(30.0, max(0.5, backoff * 2))
                stop.wait(backoff)
        log.info("projector stopped at position %s", self._position)

    def replay(self, progress: Callable[[int], None] = lambda _: None) -> ReplayReport:
        """Rebuild every view from the first event, in one transaction.

        Readers keep seeing the old views until the rebuilt ones commit; a live projector waits
        for the transaction and then carries on from the replay's position.
        """
        started = time.perf_counter()
        events = position = 0
        with self.views.transaction() as tx:
            tx.reset()
            while notifications := self._read(position, self._batch_size):
                tx.apply(fold(self._decode(n) for n in notifications), notifications[-1].id)
                position = notifications[-1].id
                events += len(notifications)
                progress(len(notifications))
        self._position = position
        return ReplayReport(events, time.perf_counter() - started, position)
