"""Bearer authentication: one decorator checks the access token, its session and its scope."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from uuid import UUID

from sanic import Request

from application.sessions import Principal, TokenService
from application.tokens import InvalidTokenError
from web.errors import Problem, unauthorized

log = logging.getLogger("incident_tracker.auth")

MAX_TOKEN_LENGTH = 4096


def bearer_token(request: Request) -> str:
    """The token of the one ``Authorization: Bearer`` header (query-string tokens are ignored)."""
    values = request.headers.getall("authorization", [])
    if not values:
        raise unauthorized("an Authorization: Bearer token is required")
    if len(values) > 1:
        raise Problem(400, "send exactly one Authorization header")
    scheme, _, token = values[0].partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("the Authorization header must be 'Bearer <token>'")
    if len(token) > MAX_TOKEN_LENGTH:
        raise unauthorized("token is malformed")
    return token


class RevokedSessions:
    """Sessions revoked recently enough that their access tokens may still be alive.

    Refreshed from the read model every ``interval`` seconds, so a revoked session's access
    tokens stop working within about that long. Entries older than the access-token lifetime
    are dropped: every token they could stop has expired by then.
    """

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[list[tuple[UUID, int]]]],
        interval: float,
        keep_for: float,
    ) -> None:
        self._fetch = fetch
        self._interval = interval
        self._keep_for = keep_for
        self._revoked: dict[UUID, float] = {}
        self._position = 0
        self._task: asyncio.Task[None] | None = None

    def __contains__(self, session_id: UUID) -> bool:
        return session_id in self._revoked

    def add(self, session_id: UUID) -> None:
        """Known here before the read model shows it (the revoking request ran here)."""
        self._revoked.setdefault(session_id, time.monotonic())

    async def start(self) -> None:
        with contextlib.suppress(Exception):
            await self.refresh()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> None:
        now = time.monotonic()
        for session_id, position in await self._fetch(self._position):
            self._revoked.setdefault(session_id, now)
            self._position = max(self._position, position)
        cutoff = now - self._keep_for
        if self._revoked and next(iter(self._revoked.values())) < cutoff:
            self._revoked = {s: t for s, t in self._revoked.items() if t >= cutoff}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.refresh()
            except Exception as error:
                log.warning("could not reload revoked sessions: %s", error)


class Authenticator:
    """Checks access tokens, remembering the ones it verified.

    A client sends the same access token with every request for ten minutes; verifying its
    RS256 signature each time costs ~0.1 ms of CPU. A verified token is kept (until it expires,
    at most ``remember`` of them) and only its expiry, session revocation and scope are checked
    again. Only tokens that verified are kept, so a forged one is never looked up as valid.
    """

    def __init__(
        self, tokens: TokenService, revoked: RevokedSessions, remember: int = 4096
    ) -> None:
        self._tokens = tokens
        self._revoked = revoked
        self._remember = remember
        self._verified: dict[str, Principal] = {}

    def principal(self, request: Request, scope: str) -> Principal:
        token = bearer_token(request)
        principal = self._verified.get(token)
        if principal is None or principal.expires_at <= time.time():
            try:
                principal = self._tokens.authenticate(token)
            except InvalidTokenError as error:
                raise unauthorized(str(error)) from None
            if len(self._verified) >= self._remember:
                self._verified.clear()
            self._verified[token] = principal
        if principal.session_id in self._revoked:
            raise unauthorized("the session has been revoked")
        if scope not in principal.scopes:
            raise Problem(
                403, f"this token lacks the '{scope}' scope",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return principal


Handler = Callable[..., Awaitable[Any]]


def requires(scope: str) -> Callable[[Handler], Handler]:
    """Route decorator: a valid access token with ``scope``; the caller lands in request.ctx."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def authenticated(request: Request, *args: Any, **kwargs: Any) -> Any:
            request.ctx.principal = request.app.ctx.runtime.authenticator.principal(request, scope)
            return await handler(request, *args, **kwargs)

        return authenticated

    return decorate
