"""OpenAPI document and the offline Swagger UI.

Routes describe themselves with ``documented(...)``; schemas are registered as named components
(``openapi.Component``) so that the document names them as the contract does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sanic import Sanic
from sanic_ext.extensions.openapi import blueprint as sanic_ext_ui
from sanic_ext.extensions.openapi import openapi
from sanic_ext.extensions.openapi.builders import OperationStore
from sanic_ext.extensions.openapi.definitions import (
    MediaType,
    Parameter,
    RequestBody,
    Response,
)
from sanic_ext.extensions.openapi.types import Integer, String
from swagger_ui_bundle import swagger_ui_path

from web.errors import PROBLEM_JSON
from web.schemas import ProblemSchema, Schema

F = TypeVar("F", bound=Callable[..., Any])

BEARER = "bearerAuth"
_PAGE = Path(__file__).parent / "static" / "swagger.html"
_PROBLEM_DESCRIPTIONS = {
    400: "malformed JSON, a body that is not a JSON object, or two Authorization headers",
    401: "missing, invalid, expired or revoked token",
    403: "the token lacks the required scope",
    404: "no such resource",
    409: "the change conflicts with the current state",
    412: "If-Match does not name the current version",
    413: "the body is larger than the limit",
    415: "the body is not sent as application/json",
    422: "the request violates the schema; `errors` names each field",
    429: "too many requests; see Retry-After",
    503: "the database is unavailable; see Retry-After",
}


class _Response(Response):
    """sanic-ext's Response keeps only the fields it declares; ours adds headers and links."""

    headers: dict[str, Any]
    links: dict[str, Any]


def query(name: str, description: str = "", **schema: Any) -> Parameter:
    kind = Integer if "minimum" in schema else String
    return Parameter(name, kind(**schema), "query", description=description or None)


def path(name: str, description: str, **schema: Any) -> Parameter:
    return Parameter(name, String(**schema), "path", description=description, required=True)


def header(name: str, description: str, **schema: Any) -> Parameter:
    return Parameter(name, String(**schema), "header", description=description)


def documented(
    operation_id: str,
    summary: str,
    *,
    body: type[Schema] | None = None,
    ok: tuple[int, type[Schema], str] | None = None,
    problems: Sequence[int] = (),
    parameters: Sequence[Parameter] = (),
    secured: bool = False,
    response_headers: dict[str, Any] | None = None,
    links: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Stack the sanic-ext OpenAPI decorators for one operation."""
    responses: list[Response] = []
    problem = openapi.Component(ProblemSchema)
    statuses = {*problems}
    if body:
        statuses |= {400, 413, 415, 422, 503}
    if secured:
        statuses |= {400, 401, 403, 503}
    for status in sorted(statuses):
        responses.append(Response(
            {PROBLEM_JSON: problem}, status=status, description=_PROBLEM_DESCRIPTIONS[status]
        ))

    def decorate(handler: F) -> F:
        handler = openapi.definition(
            operation=operation_id,
            summary=summary,
            body=RequestBody({"application/json": openapi.Component(body)}, required=True)
            if body else None,
            response=responses,
            secured={BEARER: []} if secured else None,
        )(handler)
        for parameter in parameters:
            handler = openapi.parameter(parameter=parameter)(handler)
        if ok is not None:
            # openapi.response() keeps only status, content and description of a Response, so
            # the success response (with its headers and links) goes into the store directly.
            status, model, description = ok
            extra: dict[str, Any] = {}
            if response_headers:
                extra["headers"] = response_headers
            if links:
                extra["links"] = links
            store = OperationStore()[handler]
            store.responses = {status: _Response(
                MediaType.all({"application/json": openapi.Component(model)}),
                status=status, description=description, **extra,
            ), **store.responses}
        return handler

    return decorate


def _bundled_oauth2_redirect(version: str) -> str:
    return (swagger_ui_path / "oauth2-redirect.html").read_text()


def setup_docs(app: Sanic, version: str) -> None:
    # sanic-ext would fetch this page from a CDN, synchronously, on the event loop.
    sanic_ext_ui.get_oauth2_redirect_html = _bundled_oauth2_redirect
    app.config.update({
        "OAS_UI_DEFAULT": "swagger",
        "OAS_UI_REDOC": False,
        "OAS_UI_SWAGGER": True,
        "OAS_PATH_TO_SWAGGER_HTML": str(_PAGE),
        "OAS_UI_SWAGGER_CDN_URL": "/docs/assets",  # served from the swagger-ui-bundle package
        "OAS_UI_SWAGGER_HTML_TITLE": "Incident Tracker API",
        "OAS_IGNORE_HEAD": True,
        "OAS_IGNORE_OPTIONS": True,
        "SWAGGER_UI_CONFIGURATION": {
            "deepLinking": True,
            "persistAuthorization": True,
            "displayRequestDuration": True,
        },
    })
    app.ext.openapi.describe(
        "Incident Tracker API",
        version=version,
        description="Report incidents, list them by status and move them through a workflow. "
        "Every change is an immutable event: see each incident's history, or the incident as "
        "it was at any version.",
    )
    app.ext.openapi.add_security_scheme(BEARER, "http", scheme="bearer", bearer_format="JWT")
    app.static("/docs/assets", swagger_ui_path, name="swagger_assets")
