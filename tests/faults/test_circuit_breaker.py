"""The circuit breaker that makes requests fail fast while the database is down."""

from __future__ import annotations

import time

from application.breaker import CircuitBreaker


def test_a_closed_breaker_lets_every_call_through() -> None:
    breaker = CircuitBreaker(cooldown=60)
    assert [breaker.admit() for _ in range(3)] == ["go", "go", "go"]


def test_a_tripped_breaker_fails_calls_at_once_until_the_cooldown_passes() -> None:
    breaker = CircuitBreaker(cooldown=60)
    breaker.trip()
    assert [breaker.admit() for _ in range(3)] == ["fail", "fail", "fail"]
    assert breaker.trips == 1


def test_after_the_cooldown_one_caller_probes_while_the_others_still_fail() -> None:
    breaker = CircuitBreaker(cooldown=0.01)
    breaker.trip()
    time.sleep(0.02)
    assert [breaker.admit() for _ in range(3)] == ["probe", "fail", "fail"]


def test_a_good_probe_closes_the_breaker() -> None:
    breaker = CircuitBreaker(cooldown=0.01)
    breaker.trip()
    time.sleep(0.02)
    assert breaker.admit() == "probe"
    breaker.probed(reachable=True)
    assert breaker.is_closed
    assert breaker.admit() == "go"


def test_a_failed_probe_starts_another_cooldown() -> None:
    breaker = CircuitBreaker(cooldown=0.05)
    breaker.trip()
    time.sleep(0.06)
    assert breaker.admit() == "probe"
    breaker.probed(reachable=False)
    assert breaker.admit() == "fail"
    time.sleep(0.06)
    assert breaker.admit() == "probe"
