"""Every error as RFC 9457 ``application/problem+json``: one place maps failures to statuses.

Nothing a client sees carries a stack trace, SQL or key material: unexpected errors are logged
with the request id and answered with a generic 500.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import orjson
import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import ValidationError
from sanic import HTTPResponse, Request
from sanic.exceptions import RequestCancelled, SanicException
from sanic.handlers import ErrorHandler

from application.errors import IdempotencyKeyReusedError, VersionMismatchError
from application.tokens import InvalidTokenError
from domain.errors import ConflictError, InvalidValueError, NotFoundError
from domain.incident import TransitionNotAllowedError

log = logging.getLogger("incident_tracker.errors")

PROBLEM_JSON = "application/problem+json"
INVALID_TOKEN = 'Bearer error="invalid_token"'
_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    412: "Precondition Failed", 413: "Content Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Content", 428: "Precondition Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    503: "Service Unavailable",
}
_UNAVAILABLE = (
    OperationalError, InterfaceError, psycopg.OperationalError, psycopg_pool.PoolTimeout,
    sqlite3.OperationalError, TimeoutError,
)


class Problem(Exception):
    """An error with everything its response needs."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    def response(self) -> HTTPResponse:
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": _TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        return HTTPResponse(
            orjson.dumps(body), status=self.status, headers=self.headers,
            content_type=PROBLEM_JSON,
        )


def unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": INVALID_TOKEN})


def from_validation_error(error: ValidationError, where: str) -> Problem:
    """400 for bodies that are not JSON objects, 422 for schema violations (naming each field)."""
    details = error.errors(include_url=False, include_context=False, include_input=False)
    if any(d["type"] == "json_invalid" for d in details):
        return Problem(400, "the request body is not valid JSON")
    if any(d["type"] == "model_type" and not d["loc"] for d in details):
        return Problem(400, "the request body must be a JSON object")
    errors = [{"loc": [where, *d["loc"]], "msg": d["msg"]} for d in details]
    return Problem(422, "the request does not match the schema", errors=errors)


def to_problem(exception: Exception) -> Problem:
    match exception:
        case Problem():
            return exception
        case InvalidTokenError():
            return unauthorized(str(exception))
        case TransitionNotAllowedError():
            allowed = [s.value for s in exception.allowed]
            return Problem(409, str(exception), allowed_statuses=allowed)
        case VersionMismatchError():
            return Problem(412, str(exception), current_version=exception.current)
        case IdempotencyKeyReusedError() | InvalidValueError():
            return Problem(422, str(exception))
        case NotFoundError():
            return Problem(404, str(exception))
        case ConflictError():
            return Problem(409, str(exception))
        case _ if isinstance(exception, _UNAVAILABLE):
            return Problem(503, "the database is unavailable; try again shortly",
                           headers={"Retry-After": "2"})
        case SanicException():
            status = exception.status_code
            detail = str(exception) if status < 500 else "the server could not handle the request"
            return Problem(status, detail, headers=dict(exception.headers or {}))
        case _:
            return Problem(500, "the server failed to handle the request; it has been logged")


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """The methods routed for the request's path (Sanic leaves ``Allow`` out on dynamic paths)."""
    allowed = []
    for method in _METHODS:
        try:
            request.app.router.get(request.path, method, None)
        except SanicException:
            continue
        allowed.append(method)
    return allowed


class ProblemErrorHandler(ErrorHandler):
    def default(self, request: Request, exception: Exception) -> HTTPResponse:
        problem = to_problem(exception)
        if problem.status == 405 and request is not None and not any(
            name.lower() == "allow" for name in problem.headers
        ):
            problem.headers["Allow"] = ", ".join(allowed_methods(request))
        if problem.status >= 500:
            request_id = getattr(request.ctx, "request_id", None) if request else None
            if isinstance(exception, RequestCancelled):
                log.info("request %s: the client disconnected before the answer", request_id)
            elif problem.status == 503:
                log.warning("request %s: database unavailable: %s", request_id, exception)
            else:
                log.error("request %s failed", request_id, exc_info=exception)
        return problem.response()
