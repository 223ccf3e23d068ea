"""A token session: one family of refresh tokens, rotated on every use (RFC 9700 §4.14)."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import ConflictError


class SessionRevokedError(ConflictError):
    """The session has ended; none of its tokens work any more."""


class RefreshTokenReusedError(ConflictError):
    """A refresh token that was already rotated came back: treated as theft.

    The session has recorded its own revocation when this is raised; save it before reporting.
    """


class Session(Aggregate):
    """The tokens one service obtained from one ``POST /token/`` and its refreshes."""

    @event("SessionStarted")
    def __init__(self, service: Actor, scopes: list[str], refresh_token_id: str) -> None:
        self.service = service
        self.scopes = tuple(scopes)
        self.refresh_token_id = refresh_token_id
        self.revoked_because: str | None = None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_because is not None

    def rotate(self, presented_token_id: str, new_token_id: str) -> None:
        """Swap the current refresh token for a new one; a stale token revokes the session."""
        if self.is_revoked:
            raise SessionRevokedError("the session has been revoked")
        if presented_token_id != self.refresh_token_id:
            self._revoked(reason="refresh token reused", by=self.service)
            raise RefreshTokenReusedError("refresh token was already used; session revoked")
        self._rotated(old_token_id=presented_token_id, new_token_id=new_token_id, by=self.service)

    def revoke(self, reason: str) -> bool:
        """End the session. Returns False if it had already ended (revoking is idempotent)."""
        if self.is_revoked:
            return False
        self._revoked(reason=reason, by=self.service)
        return True

    @event("RefreshTokenRotated")
    def _rotated(self, old_token_id: str, new_token_id: str, by: Actor) -> None:
        self.refresh_token_id = new_token_id

    @event("SessionRevoked")
    def _revoked(self, reason: str, by: Actor) -> None:
        self.revoked_because = reason
