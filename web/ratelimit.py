"""Rate limits: per client address on the unauthenticated endpoints, per token on writes.

Counters live in the ``limits`` library's storage: in process memory by default (so each worker
counts on its own: the effective limit is the configured one times the number of workers), or
shared between workers and nodes with a storage URI such as ``redis://host:6379``.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many, storage, strategies
from sanic import Request, Sanic

from web.errors import Problem

#: (method, route path) pairs that anybody may call without a token.
ANONYMOUS = {
    ("POST", "api/v1/services"),
    ("POST", "api/v1/token"),
    ("POST", "api/v1/token/refresh"),
    ("POST", "api/v1/token/revoke"),
}
WRITES = {"POST", "PATCH"}


@dataclass(frozen=True)
class Limits:
    anonymous: list[RateLimitItem]
    writes: list[RateLimitItem]

    @classmethod
    def parse(cls, anonymous: str, writes: str) -> Limits:
        def items(text: str) -> list[RateLimitItem]:
            return [] if text.strip().lower() == "off" else parse_many(text)

        return cls(items(anonymous), items(writes))


class RateLimiter:
    def __init__(self, limits: Limits, storage_uri: str = "memory://") -> None:
        self._limits = limits
        self._window = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def check(self, request: Request) -> None:
        route = request.route.path.rstrip("/") if request.route else ""
        if (request.method, route) in ANONYMOUS:
            # Each endpoint has its own budget: registering does not spend the token budget.
            self._hit(self._limits.anonymous, route, request.remote_addr or request.ip)
        elif request.method in WRITES and route.startswith("api/v1/incidents"):
            token = request.headers.get("authorization", "")
            key = hashlib.sha256(token.encode(errors="replace")).hexdigest()[:32]
            self._hit(self._limits.writes, "token", key)

    def _hit(self, items: list[RateLimitItem], kind: str, key: str) -> None:
        for item in items:
            if not self._window.hit(item, kind, key):
                reset_at = self._window.get_window_stats(item, kind, key).reset_time
                retry_after = max(1, math.ceil(reset_at - time.time()))
                raise Problem(
                    429, f"rate limit of {item} per {'token' if kind == 'token' else 'client'} "
                    "exceeded", headers={"Retry-After": str(retry_after)},
                )


def setup_rate_limits(app: Sanic) -> None:
    settings = app.ctx.settings
    limits = Limits.parse(settings.rate_limit_anonymous, settings.rate_limit_writes)
    if not (limits.anonymous or limits.writes):
        return  # both "off": no middleware at all

    @app.before_server_start
    async def create_limiter(app: Sanic) -> None:
        app.ctx.limiter = RateLimiter(limits, settings.rate_limit_storage)

    @app.on_request(priority=90)
    async def limit(request: Request) -> None:
        request.app.ctx.limiter.check(request)
