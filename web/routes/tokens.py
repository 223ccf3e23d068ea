"""Access and refresh tokens: issue, rotate, revoke."""

from __future__ import annotations

from sanic import Blueprint, HTTPResponse, Request

from application.sessions import TokenPair
from web.docs import documented
from web.payloads import json_response, parse_body
from web.schemas import (
    CreateTokenRequestSchema,
    CreateTokenResponseSchema,
    RefreshTokenRequestSchema,
    RefreshTokenResponseSchema,
    RevokeTokenRequestSchema,
    RevokeTokenResponseSchema,
)

bp = Blueprint("token", url_prefix="/api/v1/token")

#: What a client does next with a pair: rotate it or end its session.
_PAIR_LINKS = {
    "RefreshToken": {"operationId": "refresh_token",
                     "requestBody": {"refresh_token": "$response.body#/refresh_token"}},
    "RevokeToken": {"operationId": "revoke_token",
                    "requestBody": {"refresh_token": "$response.body#/refresh_token"}},
}
#: Tokens must not be cached by browsers or proxies (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _pair(schema: type[CreateTokenResponseSchema], pair: TokenPair) -> HTTPResponse:
    body = schema(
        access_token=pair.access_token, refresh_token=pair.refresh_token,
        token_type="bearer", expires_in=pair.expires_in,
    )
    return json_response(body, headers=NO_STORE)


@bp.post("/")
@documented(
    "create_token",
    "Get tokens for a service",
    body=CreateTokenRequestSchema,
    ok=(200, CreateTokenResponseSchema, "a new session's access and refresh tokens"),
    problems=(400, 404, 413, 422, 429),
    links=_PAIR_LINKS,
)
async def create_token(request: Request) -> HTTPResponse:
    """Starts a token session for the service whose id is given."""
    runtime = request.app.ctx.runtime
    body = parse_body(request, CreateTokenRequestSchema)
    pair = await runtime.blocking(runtime.tokens.issue, body.service_id)
    return _pair(CreateTokenResponseSchema, pair)


@bp.post("/refresh")
@documented(
    "refresh_token",
    "Rotate a refresh token",
    body=RefreshTokenRequestSchema,
    ok=(200, RefreshTokenResponseSchema, "a new pair; the presented refresh token is spent"),
    problems=(400, 401, 413, 422, 429),
    links=_PAIR_LINKS,
)
async def refresh_token(request: Request) -> HTTPResponse:
    """Presenting a spent refresh token again revokes its whole session (theft detection)."""
    runtime = request.app.ctx.runtime
    body = parse_body(request, RefreshTokenRequestSchema)
    pair = await runtime.blocking(runtime.tokens.refresh, body.refresh_token)
    return _pair(RefreshTokenResponseSchema, pair)


@bp.post("/revoke")
@documented(
    "revoke_token",
    "End a token session",
    body=RevokeTokenRequestSchema,
    ok=(200, RevokeTokenResponseSchema, "the session is over (also if it already was)"),
    problems=(400, 401, 413, 422, 429),
)
async def revoke_token(request: Request) -> HTTPResponse:
    """The refresh token stops working at once, the session's access tokens within seconds."""
    runtime = request.app.ctx.runtime
    body = parse_body(request, RevokeTokenRequestSchema)
    session_id = await runtime.blocking(runtime.tokens.revoke, body.refresh_token)
    runtime.revoked.add(session_id)
    return json_response(RevokeTokenResponseSchema(message="the session is revoked"),
                         headers=NO_STORE)
