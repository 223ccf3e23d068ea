"""Logs (text or JSON, one line per request with its id) and Prometheus metrics."""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sanic import HTTPResponse, Request, Sanic

from web.settings import Settings

access_log = logging.getLogger("incident_tracker.access")

REQUESTS = Counter(
    "incident_tracker_http_requests_total", "HTTP requests answered",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "incident_tracker_http_request_duration_seconds", "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
#: Request ids: a random per-process prefix and a counter. Unique without a syscall per request
#: (uuid4 reads the kernel's random source, and its threads then queue for the GIL).
_ID_PREFIX = os.urandom(6).hex()
_ID_COUNTER = itertools.count(1)


def _new_id_prefix() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX, _ID_COUNTER = os.urandom(6).hex(), itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):020x}"  # 32 hex digits, like a uuid4().hex


_REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")


def log_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config`` dict for Sanic and our loggers."""
    formatter = (
        {"()": "pythonjsonlogger.json.JsonFormatter",
         "fmt": "%(levelname)s %(name)s %(message)s",
         "timestamp": "time",  # ISO 8601, UTC
         "rename_fields": {"levelname": "level", "name": "logger"}}
        if settings.log_format == "json"
        else {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "default",
                       "stream": "ext://sys.stdout"},
        },
        "root": {"level": settings.log_level, "handlers": ["stdout"]},
        "loggers": {
            "sanic.access": {"level": "WARNING"},  # we log each request ourselves, once
            "incident_tracker.access": {
                "level": "INFO" if settings.access_log else "WARNING",
            },
        },
    }


def setup_observability(app: Sanic) -> None:
    @app.on_request(priority=100)
    async def start_timer(request: Request) -> None:
        given = request.headers.get("x-request-id", "")
        request.ctx.request_id = given if _REQUEST_ID.match(given) else _new_request_id()
        request.ctx.started = time.perf_counter()

    @app.on_response(priority=100)
    async def record(request: Request, response: HTTPResponse) -> None:
        request_id = getattr(request.ctx, "request_id", None) or _new_request_id()
        response.headers["X-Request-ID"] = request_id
        started = getattr(request.ctx, "started", None)
        elapsed = time.perf_counter() - started if started else 0.0
        route = request.route.path if request.route else "unmatched"
        REQUESTS.labels(request.method, route, response.status).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        access_log.info(
            "%s %s %s %.1fms request_id=%s", request.method, request.path, response.status,
            elapsed * 1000, request_id,
            extra={"request_id": request_id, "method": request.method, "path": request.path,
                   "status": response.status, "latency_ms": round(elapsed * 1000, 2)},
        )


def render_metrics(position: int, last_event: int) -> HTTPResponse:
    """All workers' request metrics (multiprocess mode when set up) plus the projection's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)

    class Projection:
        def collect(self) -> Any:
            yield GaugeMetricFamily(
                "incident_tracker_projection_position", "Last event applied to the views",
                value=position,
            )
            yield GaugeMetricFamily(
                "incident_tracker_projection_lag_events",
                "Events recorded but not yet in the views", value=max(0, last_event - position),
            )

    registry.register(Projection())
    return HTTPResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
