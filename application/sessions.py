"""Token issuing: access/refresh pairs bound to a session aggregate, rotation and revocation.

No token carries the service id (it is the credential that mints tokens): the subject is the
service's public id, and the session id ties a token to its session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from application.errors import SessionNotFoundError
from application.ids import random_uuid
from application.tokens import InvalidTokenError, Keyring
from application.tracker import IncidentTracker
from domain.actor import Actor
from domain.session import RefreshTokenReusedError, SessionRevokedError

ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class Principal:
    """Who is calling, as an access token says."""

    session_id: UUID
    actor: Actor
    scopes: frozenset[str]
    expires_at: int


class TokenService:
    def __init__(
        self,
        tracker: IncidentTracker,
        keyring: Keyring,
        *,
        issuer: str,
        access_ttl: int = 600,
        refresh_ttl: int = 86_400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tracker = tracker
        self._keyring = keyring
        self._issuer = issuer
        self._access_ttl = access_ttl
        self._refresh_ttl = refresh_ttl
        self._clock = clock

    def issue(self, service_id: UUID) -> TokenPair:
        """Start a session for the service and hand out its first pair of tokens."""
        service = self._tracker.get_service(service_id)
        refresh_id = random_uuid().hex
        session_id = self._tracker.start_session(service, refresh_id)
        return self._pair(session_id, service.actor, service.scopes, refresh_id)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented refresh token dies; a second use of it revokes the session."""
        claims = self._keyring.verify(refresh_token, issuer=self._issuer, token_type=REFRESH)
        session_id = _uuid(claims["sid"])
        new_id = random_uuid().hex
        try:
            self._tracker.rotate_refresh_token(session_id, claims["jti"], new_id)
        except RefreshTokenReusedError:
            raise InvalidTokenError("refresh token reused; the session is now revoked") from None
        except SessionRevokedError:
            raise InvalidTokenError("the session has been revoked") from None
        except SessionNotFoundError:
            raise InvalidTokenError("the session does not exist") from None
        actor = Actor(claims["sub"], claims.get("name", ""))
        return self._pair(session_id, actor, tuple(str(claims.get("scope", "")).split()), new_id)

    def revoke(self, refresh_token: str) -> UUID:
        """End the session and return its id. Expired and already revoked tokens are fine
        (revoking is idempotent)."""
        claims = self._keyring.verify(
            refresh_token, issuer=self._issuer, token_type=REFRESH, verify_exp=False
        )
        session_id = _uuid(claims["sid"])
        try:
            self._tracker.revoke_session(session_id, "revoked by its holder")
        except SessionNotFoundError:
            raise InvalidTokenError("the session does not exist") from None
        return session_id

    def authenticate(self, access_token: str) -> Principal:
        """Verify an access token (signature, issuer, expiry, type). Revocation is the caller's
        check: it needs the read model, which this class does not know."""
        claims = self._keyring.verify(access_token, issuer=self._issuer, token_type=ACCESS)
        return Principal(
            session_id=_uuid(claims["sid"]),
            actor=Actor(claims["sub"], claims.get("name", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            expires_at=int(claims["exp"]),
        )

    def _pair(
        self, session_id: UUID, actor: Actor, scopes: tuple[str, ...], refresh_id: str
    ) -> TokenPair:
        now = int(self._clock())
        common = {"iss": self._issuer, "sub": actor.id, "iat": now, "sid": str(session_id)}
        access = self._keyring.sign({
            **common, "exp": now + self._access_ttl, "jti": random_uuid().hex, "typ": ACCESS,
            "scope": " ".join(scopes), "name": actor.name,
        })
        refresh = self._keyring.sign({
            **common, "exp": now + self._refresh_ttl, "jti": refresh_id, "typ": REFRESH,
            "scope": " ".join(scopes), "name": actor.name,
        })
        return TokenPair(access, refresh, self._access_ttl)


def _uuid(value: object) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidTokenError("token is malformed") from None
