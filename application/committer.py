"""Group commit: concurrent commands share one event-store transaction.

The PostgreSQL recorder locks the events table for every insert, so one transaction per command
caps throughput at the lock's round trip. Here every thread hands its aggregates to one committer
thread, which saves whatever has queued up in a single ``save(*aggregates)`` call. If that batch
fails on a version conflict (or any error tied to its content), it is retried one command at a
time, so only the command that really conflicted sees the ``IntegrityError``.

If the database refuses a write outright (unreachable, or the events table stayed locked for
the whole lock timeout), that batch fails and so does every command queued behind it: they
would only wait as long again to learn the same, and a client should hear 503 within one lock
timeout, not one per batch ahead of it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    Recording,
)

Save = Callable[..., list[Recording[Any]]]
Batch = Sequence[tuple[tuple[Any, ...], "Future[list[Recording[Any]]]"]]
_REFUSED = (OperationalError, InterfaceError)

_STOP = object()


class GroupCommitter:
    def __init__(self, save: Save, max_batch: int = 64) -> None:
        self._save = save
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def save(self, *aggregates: Aggregate) -> list[Recording[Any]]:
        """Record the aggregates' pending events; blocks until they are committed."""
        return self.submit(*aggregates).result()

    def submit(self, *aggregates: Aggregate) -> Future[list[Recording[Any]]]:
        """Queue the aggregates' pending events (taken now, so a retry can resend them)."""
        if self._thread is None:
            self._start()
        events = tuple(e for a in aggregates for e in a.collect_events())
        future: Future[list[Recording[Any]]] = Future()
        self._queue.put((events, future))
        return future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="group-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._commit(batch)
                    return
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: Batch) -> None:
        if len(batch) > 1:
            try:
                recordings = self._save(*(e for events, _ in batch for e in events))
            except _REFUSED as error:
                self._fail(batch, error)
                return
            except Exception:  # noqa: S110
                pass  # someone in the batch lost a race (or sent bad data): find out who
            else:
                start = 0
                for events, future in batch:
                    future.set_result(recordings[start : start + len(events)])
                    start += len(events)
                return
        for i, (events, future) in enumerate(batch):
            try:
                future.set_result(self._save(*events))
            except _REFUSED as error:
                self._fail(batch[i:], error)
                return
            except BaseException as error:
                future.set_exception(error)

    def _fail(self, batch: Batch, error: BaseException) -> None:
        """Fail ``batch`` and every command queued behind it with ``error``."""
        for _, future in batch:
            future.set_exception(error)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is _STOP:
                self._queue.put(_STOP)
                return
            item[1].set_exception(error)
