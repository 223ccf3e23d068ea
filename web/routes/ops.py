"""Operations: liveness, readiness (with projection lag), metrics and the public keys."""

from __future__ import annotations

import asyncio
import time

from sanic import Blueprint, HTTPResponse, Request, json
from sanic_ext.extensions.openapi import openapi

from web.observability import render_metrics

bp = Blueprint("ops")


class ProjectionProgress:
    """Tells a projection that is merely behind from one that has stopped moving."""

    def __init__(self) -> None:
        self._position = -1
        self._since = time.monotonic()

    def stalled_for(self, position: int, last_event: int) -> float:
        now = time.monotonic()
        if position != self._position or position >= last_event:
            self._position, self._since = position, now
            return 0.0
        return now - self._since


@bp.get("/health")
@openapi.exclude()
async def health(request: Request) -> HTTPResponse:
    """Liveness: the process answers."""
    return json({"status": "ok"})


@bp.get("/ready")
@openapi.exclude()
async def ready(request: Request) -> HTTPResponse:
    """Readiness: the database answers and the projection is moving."""
    runtime = request.app.ctx.runtime
    try:
        position, last_event = await asyncio.wait_for(
            asyncio.gather(runtime.queries.position(), runtime.queries.last_event()),
            timeout=runtime.settings.db_connect_timeout + 1,
        )
    except Exception:
        return json({"status": "unavailable", "database": "unreachable"}, status=503,
                    headers={"Retry-After": "2"})
    stalled = request.app.ctx.progress.stalled_for(position, last_event)
    is_ready = stalled < runtime.settings.projection_stall
    return json(
        {
            "status": "ready" if is_ready else "unavailable",
            "database": "ok",
            "projection": {
                "position": position,
                "lag": max(0, last_event - position),
                "stalled_seconds": round(stalled, 1),
            },
        },
        status=200 if is_ready else 503,
    )


@bp.get("/metrics")
@openapi.exclude()
async def metrics(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    try:
        position, last_event = await asyncio.gather(
            runtime.queries.position(), runtime.queries.last_event()
        )
    except Exception:
        position = last_event = 0
    return render_metrics(position, last_event)


@bp.get("/.well-known/jwks.json")
@openapi.exclude()
async def jwks(request: Request) -> HTTPResponse:
    """The public keys that verify our tokens."""
    return json(request.app.ctx.runtime.keyring.jwks(),
                headers={"Cache-Control": "public, max-age=300"})
