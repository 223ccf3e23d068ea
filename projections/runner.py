"""The projector: follows the notification log and applies it to the views, batch by batch.

Each batch's view changes and its tracking position commit in one transaction, so a crash at
any instant neither loses nor repeats an event. An event that cannot be applied stops the
projector where it is (it logs, backs off and tries again) instead of being skipped: the events
before it are applied, so the position stops exactly one short of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, Notification, OperationalError

from projections.incidents import fold
from projections.views import ViewStore

log = logging.getLogger("incident_tracker.projector")

#: Failures that mean "the database is not answering": retried quietly, and soon.
_UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

#: Reads up to ``limit`` notifications with ids greater than ``after``.
ReadNotifications = Callable[[int, int], Sequence[Notification]]


class PoisonEventError(Exception):
    """A stored event that cannot be decoded; the projector stops just before it."""

    def __init__(self, notification: Notification, cause: Exception) -> None:
        self.notification_id = notification.id
        self.__cause__ = cause  # the traceback shows why it cannot be decoded
        super().__init__(
            f"cannot decode notification {notification.id} (topic {notification.topic!r}, "
            f"originator {notification.originator_id} v{notification.originator_version}): "
            f"{type(cause).__name__}: {cause}"
        )


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
        max_backoff: float = 2.0,
    ) -> None:
        self.views = views
        self._read = read
        self._decode = decode
        self._batch_size = batch_size
        self._idle_wait = idle_wait
        self._max_backoff = max_backoff
        self._position: int | None = None
        self._last_error = ""

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
        events, poison = self._decoded(notifications)
        if events:
            last = notifications[len(events) - 1].id
            with self.views.transaction() as tx:
                tx.apply(fold(events, positions=(n.id for n in notifications)), last)
            self._position = last
        if poison is not None:
            raise poison
        return len(notifications)

    def _decoded(
        self, notifications: Sequence[Notification]
    ) -> tuple[list[Any], PoisonEventError | None]:
        """The events up to the first that cannot be decoded, and the error for that one."""
        events = []
        for notification in notifications:
            try:
                events.append(self._decode(notification))
            except Exception as error:
                return events, PoisonEventError(notification, error)
        return events, None

    def catch_up(self) -> int:
        """Apply batches until the log is exhausted; returns the final position."""
        while self.run_once():
            pass
        return self.position

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set, surviving database outages and bad events."""
        failures = 0
        started = False
        while not stop.is_set():
            try:
                if not started:  # inside the loop: the database may be down as we start
                    log.info("projector started at position %d", self.position)
                    started = True
                if not self.run_once():
                    self.views.wait_for_events(self._idle_wait)
            except Exception as error:
                failures += 1
                self._report(error, failures)
                self._position = None  # reload: another projector or a replay may have moved it
                stop.wait(min(self._max_backoff, 0.1 * 2 ** min(failures - 1, 8)))
                continue
            if failures:
                log.warning("projector resumed at position %s after %d failed attempts",
                            self._position, failures)
                failures, self._last_error = 0, ""
        log.info("projector stopped at position %s", self._position)

    def _report(self, error: Exception, failures: int) -> None:
        """An outage is a warning; anything else stops the projection and is an error, with the
        traceback the first time and one line on every retry after that."""
        if isinstance(error, _UNAVAILABLE):
            log.warning("projector waiting for the database at position %s: %s",
                        self._position, error)
        elif str(error) != self._last_error:
            self._last_error = str(error)
            log.error("projector stopped at position %s; it will retry without skipping: %s",
                      self._position, error, exc_info=error)
        else:
            log.error("projector still stopped at position %s (attempt %d): %s",
                      self._position, failures, error)

    def replay(self, progress: Callable[[int], None] = lambda _: None) -> ReplayReport:
        """Rebuild every view from the first event, in one transaction.

        Readers keep seeing the old views until the rebuilt ones commit; a live projector waits
        for the transaction and then carries on from the replay's position.
        """
        started = time.perf_counter()
        count = position = 0
        with self.views.transaction() as tx:
            tx.reset()
            while notifications := self._read(position, self._batch_size):
                events, poison = self._decoded(notifications)
                if poison is not None:
                    raise poison  # rolls the whole replay back: the old views stay
                tx.apply(fold(events, positions=(n.id for n in notifications)),
                         notifications[-1].id)
                position = notifications[-1].id
                count += len(notifications)
                progress(len(notifications))
        self._position = position
        return ReplayReport(count, time.perf_counter() - started, position)
