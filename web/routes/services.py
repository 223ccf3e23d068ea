"""Registering client systems."""

from __future__ import annotations

import hmac

from sanic import Blueprint, HTTPResponse, Request

from web.auth import bearer_token
from web.docs import documented
from web.errors import Problem
from web.payloads import json_response, parse_body
from web.schemas import NewServiceRequestSchema, ServiceResponseSchema

bp = Blueprint("services", url_prefix="/api/v1/services")


@bp.post("/")
@documented(
    "register_service",
    "Register a service",
    body=NewServiceRequestSchema,
    ok=(201, ServiceResponseSchema, "the new service; keep its id secret, it mints tokens"),
    problems=(400, 401, 413, 422, 429),
    links={"CreateToken": {"operationId": "create_token",
                           "requestBody": {"service_id": "$response.body#/id"}}},
)
async def register_service(request: Request) -> HTTPResponse:
    """Open by default; with SERVICE_REGISTRATION_KEY set, send it as a bearer token."""
    runtime = request.app.ctx.runtime
    key = runtime.settings.service_registration_key
    if key is not None:
        presented = bearer_token(request)
        if not hmac.compare_digest(presented.encode(), key.get_secret_value().encode()):
            raise Problem(401, "registration requires the service registration key",
                          headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    body = parse_body(request, NewServiceRequestSchema)
    service = await runtime.blocking(runtime.tracker.register_service, body.name, body.scopes)
    return json_response(
        ServiceResponseSchema(
            id=service.id, name=service.name, created_at=service.created_at,
            scopes=list(service.scopes),
        ),
        status=201,
    )
