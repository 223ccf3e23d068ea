from __future__ import annotations

import pytest

from domain.actor import Actor
from domain.session import RefreshTokenReusedError, Session, SessionRevokedError

SERVICE = Actor("svc_test", "monitoring")


def started() -> Session:
    session = Session(service=SERVICE, scopes=["read"], refresh_token_id="r1")
    session.collect_events()
    return session


def test_rotating_with_the_current_token_replaces_it() -> None:
    session = started()
    session.rotate("r1", "r2")
    [event] = session.collect_events()
    assert type(event).__name__ == "RefreshTokenRotated"
    assert (event.old_token_id, event.new_token_id, event.by) == ("r1", "r2", SERVICE)
    assert session.refresh_token_id == "r2"


def test_presenting_a_rotated_token_again_revokes_the_session() -> None:
    session = started()
    session.rotate("r1", "r2")
    session.collect_events()
    with pytest.raises(RefreshTokenReusedError):
        session.rotate("r1", "r3")
    [event] = session.collect_events()
    assert type(event).__name__ == "SessionRevoked"
    assert session.is_revoked
    assert session.refresh_token_id == "r2"


def test_a_revoked_session_cannot_rotate() -> None:
    session = started()
    session.revoke("logout")
    with pytest.raises(SessionRevokedError):
        session.rotate("r1", "r2")


def test_revoking_twice_records_one_revocation() -> None:
    session = started()
    assert session.revoke("logout") is True
    assert session.revoke("logout") is False
    assert [type(e).__name__ for e in session.collect_events()] == ["SessionRevoked"]
