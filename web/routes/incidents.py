"""Incidents: report, list, change status, read (now or at a version), audit history."""

from __future__ import annotations

import asyncio
import logging
import re

from sanic import Blueprint, HTTPResponse, Request

from application.records import IncidentWrite
from domain.incident import Status
from web.auth import requires
from web.docs import documented, header, path, query
from web.errors import Problem
from web.payloads import (
    etag,
    if_match,
    incident_body,
    json_body,
    json_response,
    parse_body,
    parse_query,
    path_uuid,
)
from web.schemas import (
    ActorSchema,
    HistoryEventSchema,
    IncidentHistoryResponseSchema,
    IncidentResponseSchema,
    IncidentVersionQuerySchema,
    ListIncidentQuerySchema,
    ListIncidentResponseSchema,
    NewIncidentRequestSchema,
    NewIncidentStatusRequestSchema,
)

log = logging.getLogger("incident_tracker.incidents")
bp = Blueprint("incidents", url_prefix="/api/v1/incidents")

_INCIDENT_ID = path("incident_id", "the incident's id", format="uuid")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_ETAG = {"ETag": {"description": "the incident's version, quoted", "schema": {"type": "string"}}}
_INCIDENT_LINKS = {
    "GetIncident": {
        "operationId": "get_incident",
        "parameters": {"incident_id": "$response.body#/id"},
    },
    "ChangeIncidentStatus": {
        "operationId": "change_incident_status",
        "parameters": {"incident_id": "$response.body#/id"},
    },
    "GetIncidentHistory": {
        "operationId": "get_incident_history",
        "parameters": {"incident_id": "$response.body#/id"},
    },
}


async def _visible(request: Request, written: IncidentWrite) -> None:
    """Read-your-writes: hold the response until the read model shows this write."""
    runtime = request.app.ctx.runtime
    if not await runtime.watch.wait_for(
        written.position, runtime.settings.read_your_writes_timeout
    ):
        log.warning("read model is behind: position %s not reached in time", written.position)


def _incident_response(written: IncidentWrite, status: int = 200) -> HTTPResponse:
    headers = {"ETag": etag(written.state.version)}
    if status == 201:
        headers["Location"] = f"/api/v1/incidents/{written.state.id}"
    if written.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_body(incident_body(written.state), status=status, headers=headers)


@bp.get("/")
@documented(
    "list_incidents",
    "List incidents",
    ok=(200, ListIncidentResponseSchema, "one page, oldest first"),
    problems=(401, 403, 422, 503),
    parameters=[
        query("status", "only incidents with this status (default: all)",
              enum=[s.value for s in Status]),
        query("page", "page number, from 1", minimum=1, maximum=1_000_000, default=1),
        query("page_size", "incidents per page", minimum=20, maximum=50, default=50),
    ],
    secured=True,
)
@requires("read")
async def list_incidents(request: Request) -> HTTPResponse:
    """Ordered by creation time (then id); `total` counts every page."""
    query = parse_query(request, ListIncidentQuerySchema)
    status = query.status.value if query.status else None
    page = await request.app.ctx.runtime.queries.page(status, query.page, query.page_size)
    return json_body({
        "items": [incident_body(row) for row in page.items],
        "page": query.page,
        "page_size": query.page_size,
        "total": page.total,
    })


@bp.post("/")
@documented(
    "create_incident",
    "Report an incident",
    body=NewIncidentRequestSchema,
    ok=(201, IncidentResponseSchema, "the new incident (or, for a repeated Idempotency-Key, "
        "the original one)"),
    problems=(400, 401, 403, 413, 422, 429),
    parameters=[
        header("Idempotency-Key", "repeat a create safely: the same key from the same service "
               "returns the original incident", pattern=_IDEMPOTENCY_KEY.pattern),
    ],
    secured=True,
    response_headers=_ETAG,
    links=_INCIDENT_LINKS,
)
@requires("write")
async def create_incident(request: Request) -> HTTPResponse:
    """A new incident starts as `new`."""
    runtime = request.app.ctx.runtime
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise Problem(422, "Idempotency-Key must be 1-255 visible ASCII characters",
                      errors=[{"loc": ["header", "Idempotency-Key"], "msg": "invalid key"}])
    body = parse_body(request, NewIncidentRequestSchema)
    actor = request.ctx.principal.actor
    if key is None:  # nothing to look up first: hand the event to the group commit directly
        written = await asyncio.wrap_future(
            runtime.tracker.submit_report(body.source, body.description, actor)
        )
    else:
        written = await runtime.blocking(
            runtime.tracker.report_incident, body.source, body.description, actor, key
        )
    await _visible(request, written)
    return _incident_response(written, status=201)


@bp.patch("/<incident_id:str>")
@documented(
    "change_incident_status",
    "Change an incident's status",
    body=NewIncidentStatusRequestSchema,
    ok=(200, IncidentResponseSchema, "the incident after the change (unchanged if it already "
        "had that status)"),
    problems=(400, 401, 403, 404, 409, 412, 413, 422, 429),
    parameters=[
        _INCIDENT_ID,
        header("If-Match", 'apply only if the incident is still at this version: one ETag, '
               'like "3"'),
    ],
    secured=True,
    response_headers=_ETAG,
)
@requires("write")
async def change_incident_status(request: Request, incident_id: str) -> HTTPResponse:
    """new → in_progress | resolved | closed; in_progress → resolved | closed;
    resolved → in_progress | closed; closed is final."""
    runtime = request.app.ctx.runtime
    uid = path_uuid(incident_id, "incident_id")
    body = parse_body(request, NewIncidentStatusRequestSchema)
    expected = if_match(request)
    written = await runtime.blocking(
        runtime.tracker.change_status, uid, body.status, request.ctx.principal.actor,
        expected,
    )
    await _visible(request, written)
    return _incident_response(written)


@bp.get("/<incident_id:str>")
@documented(
    "get_incident",
    "Get an incident, now or as it was",
    ok=(200, IncidentResponseSchema, "the incident (at `version`, if given)"),
    problems=(401, 403, 404, 422, 503),
    parameters=[
        _INCIDENT_ID,
        query("version", "replay the incident's events up to this version",
              minimum=1, maximum=2**31 - 1),
    ],
    secured=True,
    response_headers=_ETAG,
)
@requires("read")
async def get_incident(request: Request, incident_id: str) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    uid = path_uuid(incident_id, "incident_id")
    query = parse_query(request, IncidentVersionQuerySchema)
    if query.version is not None:
        state = await runtime.blocking(runtime.tracker.incident_at, uid, query.version)
        return json_body(incident_body(state), headers={"ETag": etag(state.version)})
    row = await runtime.queries.get(uid)
    if row is None:
        raise Problem(404, f"incident {uid} does not exist")
    return json_body(incident_body(row), headers={"ETag": etag(row.version)})


@bp.get("/<incident_id:str>/history")
@documented(
    "get_incident_history",
    "An incident's audit trail",
    ok=(200, IncidentHistoryResponseSchema, "every event, oldest first, with who caused it"),
    problems=(401, 403, 404, 422, 503),
    parameters=[_INCIDENT_ID],
    secured=True,
)
@requires("read")
async def get_incident_history(request: Request, incident_id: str) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    uid = path_uuid(incident_id, "incident_id")
    entries = await runtime.blocking(runtime.tracker.history, uid)
    return json_response(IncidentHistoryResponseSchema(
        incident_id=uid,
        events=[
            HistoryEventSchema(
                version=e.version, type=e.type, at=e.at,
                actor=ActorSchema(name=e.actor.name, id=e.actor.id), data=e.data,
            )
            for e in entries
        ],
    ))
