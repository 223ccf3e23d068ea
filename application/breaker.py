"""A circuit breaker per database: while it is known to be down, fail at once (503)."""

from __future__ import annotations

import threading
import time
from typing import Literal

from eventsourcing.persistence import OperationalError


class DatabaseUnavailableError(OperationalError):
    """The database did not answer; the web layer turns this into 503 with Retry-After."""


class CircuitBreaker:
    """Fails calls at once while the database is known to be unreachable.

    A caller that finds the database unreachable (its connection broke *and* a fresh connection
    was refused) trips the breaker. For ``cooldown`` seconds every call then fails immediately,
    instead of each one waiting for a pool that cannot fill. After that the next caller probes
    with a fresh connection while the others keep failing fast; a good probe closes the breaker.
    One breaker per database and process, shared by the event store and the read model.
    """

    def __init__(self, cooldown: float = 1.0) -> None:
        self.cooldown = cooldown
        self.trips = 0
        self._lock = threading.Lock()
        self._tripped_at: float | None = None
        self._probing = False

    @property
    def is_closed(self) -> bool:
        return self._tripped_at is None

    def admit(self) -> Literal["go", "probe", "fail"]:
        """``go``: call the database; ``probe``: try a fresh connection first; ``fail``: don't."""
        with self._lock:
            if self._tripped_at is None:
                return "go"
            if self._probing or time.monotonic() - self._tripped_at < self.cooldown:
                return "fail"
            self._probing = True
            return "probe"

    def probed(self, reachable: bool) -> None:
        with self._lock:
            self._probing = False
            self._tripped_at = None if reachable else time.monotonic()

    def trip(self) -> None:
        with self._lock:
            if self._tripped_at is None:
                self.trips += 1
            self._tripped_at = time.monotonic()


_breakers: dict[tuple[str, int, str], CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(host: str, port: int | str, dbname: str) -> CircuitBreaker:
    """This process's breaker for one database."""
    with _breakers_lock:
        return _breakers.setdefault((host, int(port), dbname), CircuitBreaker())
