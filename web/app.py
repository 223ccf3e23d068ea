"""The app factory: the one place where the HTTP app is assembled."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sanic import Sanic

from web.docs import setup_docs
from web.errors import ProblemErrorHandler
from web.observability import log_config, setup_observability
from web.ratelimit import setup_rate_limits
from web.routes import incidents, ops, services, tokens
from web.routes.ops import ProjectionProgress
from web.runtime import Runtime
from web.settings import Settings

try:
    VERSION = version("incident-tracker")
except PackageNotFoundError:  # running from a checkout without installing
    VERSION = "0.0.0"


def create_app(settings: Settings | None = None, name: str = "incident_tracker") -> Sanic:
    settings = settings or Settings()
    app = Sanic(name, log_config=log_config(settings), error_handler=ProblemErrorHandler())
    app.config.update({
        "REQUEST_MAX_SIZE": settings.request_max_size,
        "REQUEST_TIMEOUT": settings.request_timeout,
        "RESPONSE_TIMEOUT": 60,
        "KEEP_ALIVE_TIMEOUT": 75,
        "ACCESS_LOG": False,  # web.observability logs each request once, with its id
        "FALLBACK_ERROR_FORMAT": "json",
        "CORS": bool(settings.cors_origins),
        "CORS_ORIGINS": ",".join(settings.cors_origins),
        "CORS_EXPOSE_HEADERS": "ETag, Location, X-Request-ID, Retry-After",
        "CORS_ALLOW_HEADERS": "Authorization, Content-Type, If-Match, Idempotency-Key, "
        "X-Request-ID",
    })
    app.ctx.settings = settings
    app.blueprint([services.bp, tokens.bp, incidents.bp, ops.bp])
    setup_docs(app, VERSION)
    setup_observability(app)
    setup_rate_limits(app)

    @app.before_server_start
    async def start_runtime(app: Sanic) -> None:
        app.ctx.runtime = await Runtime.start(settings)
        app.ctx.progress = ProjectionProgress()

    @app.after_server_stop
    async def stop_runtime(app: Sanic) -> None:
        await app.ctx.runtime.stop()

    return app
