"""Reading requests into schemas and writing schemas into responses."""

from __future__ import annotations

import re
from typing import Any, TypeVar
from uuid import UUID

import orjson
from pydantic import ValidationError
from sanic import HTTPResponse, Request

from application.records import IncidentState
from projections.incidents import IncidentRow
from web.errors import Problem, from_validation_error
from web.schemas import Schema, format_timestamp

M = TypeVar("M", bound=Schema)


def parse_body(request: Request, model: type[M]) -> M:
    content_type = request.headers.get("content-type", "application/json")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise Problem(415, "send the body as application/json")
    try:
        return model.model_validate_json(request.body or b"")
    except ValidationError as error:
        raise from_validation_error(error, "body") from None


def parse_query(request: Request, model: type[M]) -> M:
    """Validate the query parameters ``model`` knows; others (``access_token``, ...) are ignored."""
    values: dict[str, Any] = {}
    args = request.get_args(keep_blank_values=True)  # `?status=` is a bad value, not no value
    for name in model.model_fields:
        given = args.getlist(name)
        if len(given) > 1:
            raise Problem(422, f"query parameter '{name}' is repeated",
                          errors=[{"loc": ["query", name], "msg": "give it once"}])
        if given:
            values[name] = given[0]
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise from_validation_error(error, "query") from None


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def path_uuid(value: str, name: str) -> UUID:
    """A UUID path parameter; anything else is a schema violation (422), not an unknown path."""
    if not _UUID.match(value):
        raise Problem(422, f"'{name}' must be a UUID",
                      errors=[{"loc": ["path", name], "msg": "Input should be a valid UUID"}])
    return UUID(value)


def json_response(
    body: Schema, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    return HTTPResponse(
        body.model_dump_json(exclude_none=True), status=status, headers=headers,
        content_type="application/json",
    )


def json_body(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> HTTPResponse:
    """A plain JSON body, serialised by orjson: for the hot paths, whose shapes are the
    schemas' (IncidentResponseSchema, ListIncidentResponseSchema) and checked against them by
    tests/web (schemathesis validates every response)."""
    return HTTPResponse(orjson.dumps(body), status=status, headers=headers,
                        content_type="application/json")


def incident_body(incident: IncidentState | IncidentRow) -> dict[str, Any]:
    """IncidentResponseSchema's fields, from our own aggregate or view (no re-validation)."""
    return {
        "id": incident.id,
        "status": incident.status,
        "source": incident.source,
        "description": incident.description,
        "created_at": format_timestamp(incident.created_at),
        "updated_at": format_timestamp(incident.updated_at),
        "version": incident.version,
    }


def etag(version: int) -> str:
    return f'"{version}"'


_ENTITY_TAG = re.compile(r'^(W/)?"([\x21\x23-\x7e\x80-\xff]*)"$')


def if_match(request: Request) -> int | None:
    """The version ``If-Match`` requires (``"3"``), None if absent or ``*``.

    If-Match compares strongly (RFC 9110 13.1.1): weak tags, malformed values and tags that are
    not a version of ours can never match, so they fail the precondition (412) at once.
    """
    value = request.headers.get("if-match")
    if value is None or value.strip() == "*":
        return None
    versions = set()
    for item in value.split(","):
        tag = _ENTITY_TAG.match(item.strip())
        if tag and not tag[1] and tag[2].isdigit() and len(tag[2]) <= 10:
            versions.add(int(tag[2]))
    if len(versions) != 1:
        raise Problem(412, "If-Match must name one version of the incident as its ETag gave it, "
                      'like "3"')
    return versions.pop()
