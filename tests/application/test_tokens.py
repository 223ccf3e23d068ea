"""Keyring and token sessions; the attacks here are replayed over HTTP in tests/web."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from functools import cache

import pytest

from application.records import ServiceRecord
from application.sessions import TokenService
from application.tokens import (
    InvalidTokenError,
    Keyring,
    generate_private_pem,
    load_or_create_private_pem,
    public_pem,
)
from application.tracker import IncidentTracker

ISSUER = "incident-tracker-test"


@cache
def keyring() -> Keyring:
    return Keyring(generate_private_pem())


@cache
def other_keyring() -> Keyring:
    return Keyring(generate_private_pem())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "svc_x", "iat": now, "exp": now + 60, "jti": "j",
            "typ": "access", "sid": str(uuid.uuid4()), "scope": "read", **overrides}


def verify(token: str, token_type: str = "access") -> dict[str, object]:
    return keyring().verify(token, issuer=ISSUER, token_type=token_type)


def test_a_token_we_signed_verifies() -> None:
    assert verify(keyring().sign(claims()))["sub"] == "svc_x"


def test_the_header_names_our_key_and_the_jwks_publishes_only_public_parts() -> None:
    token = keyring().sign(claims())
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": keyring().kid, "typ": "JWT"}
    [key] = keyring().jwks()["keys"]
    assert key["kid"] == keyring().kid
    assert set(key) == {"kty", "use", "alg", "kid", "n", "e"}


def test_alg_none_is_rejected() -> None:
    header = b64(json.dumps({"alg": "none", "kid": keyring().kid}).encode())
    with pytest.raises(InvalidTokenError):
        verify(f"{header}.{b64(json.dumps(claims()).encode())}.")


def test_hs256_signed_with_our_public_key_is_rejected() -> None:
    secret = keyring().jwks()["keys"][0]["n"].encode()
    header = b64(json.dumps({"alg": "HS256", "kid": keyring().kid}).encode())
    body = b64(json.dumps(claims()).encode())
    for key in (secret, _our_public_pem()):
        signature = b64(hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        with pytest.raises(InvalidTokenError):
            verify(f"{header}.{body}.{signature}")


def _our_public_pem() -> bytes:
    # What an attacker can fetch from the JWKS, in the PEM form HS256 confusion attacks use.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = keyring().jwks()["keys"][0]
    n = int.from_bytes(base64.urlsafe_b64decode(key["n"] + "=="), "big")
    e = int.from_bytes(base64.urlsafe_b64decode(key["e"] + "=="), "big")
    return RSAPublicNumbers(e, n).public_key().public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )


def test_a_token_signed_by_another_key_under_our_kid_is_rejected() -> None:
    forged = other_keyring().sign(claims())
    _, body, signature = forged.split(".")
    ours = b64(json.dumps({"alg": "RS256", "kid": keyring().kid, "typ": "JWT"}).encode())
    with pytest.raises(InvalidTokenError, match="signature"):
        verify(f"{ours}.{body}.{signature}")
    with pytest.raises(InvalidTokenError):
        verify(forged)  # and under its own kid, which we do not know


def test_a_tampered_payload_is_rejected() -> None:
    header, _, signature = keyring().sign(claims(scope="read")).split(".")
    body = b64(json.dumps(claims(scope="read write")).encode())
    with pytest.raises(InvalidTokenError, match="signature"):
        verify(f"{header}.{body}.{signature}")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": int(time.time()) - 5}, "expired"),
        ({"iss": "someone-else"}, "issuer"),
        ({"typ": "refresh"}, "access"),
    ],
)
def test_expired_foreign_or_wrong_type_tokens_are_rejected(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidTokenError, match=message):
        verify(keyring().sign(claims(**overrides)))


@pytest.mark.parametrize("missing", ["exp", "iat", "iss", "sub", "jti", "typ", "sid"])
def test_a_token_missing_a_required_claim_is_rejected(missing: str) -> None:
    token_claims = claims()
    del token_claims[missing]
    with pytest.raises(InvalidTokenError):
        verify(keyring().sign(token_claims))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOi.e30.x"])
def test_garbage_is_rejected_not_crashed_on(garbage: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify(garbage)


def test_a_retired_key_still_verifies_after_rotation() -> None:
    old = generate_private_pem()
    token = Keyring(old).sign(claims())
    rotated = Keyring(generate_private_pem(), [public_pem(old)])
    assert rotated.verify(token, issuer=ISSUER, token_type="access")["sub"] == "svc_x"


def test_concurrent_first_starts_agree_on_one_dev_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "keys" / "dev.pem"
    seen: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: seen.append(load_or_create_private_pem(path)))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 1 and (path.stat().st_mode & 0o777) == 0o600


# Sessions ------------------------------------------------------------------------------------

@pytest.fixture
def tokens(tracker: IncidentTracker) -> TokenService:
    return TokenService(tracker, keyring(), issuer=ISSUER, access_ttl=60, refresh_ttl=120)


def test_no_token_carries_the_service_id(tokens: TokenService, service: ServiceRecord) -> None:
    pair = tokens.issue(service.id)
    for token in (pair.access_token, pair.refresh_token):
        payload = base64.urlsafe_b64decode(token.split(".")[1] + "==").decode()
        assert str(service.id) not in payload and service.id.hex not in payload


def test_an_access_token_names_the_actor_and_scopes(
    tokens: TokenService, service: ServiceRecord
) -> None:
    principal = tokens.authenticate(tokens.issue(service.id).access_token)
    assert principal.actor == service.actor
    assert principal.scopes == {"read", "write"}


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_session(
    tokens: TokenService, service: ServiceRecord, tracker: IncidentTracker
) -> None:
    first = tokens.issue(service.id)
    second = tokens.refresh(first.refresh_token)
    with pytest.raises(InvalidTokenError, match="reused"):
        tokens.refresh(first.refresh_token)
    with pytest.raises(InvalidTokenError, match="revoked"):
        tokens.refresh(second.refresh_token)  # the whole family is gone


def test_refresh_and_access_tokens_are_not_interchangeable(
    tokens: TokenService, service: ServiceRecord
) -> None:
    pair = tokens.issue(service.id)
    with pytest.raises(InvalidTokenError):
        tokens.authenticate(pair.refresh_token)
    with pytest.raises(InvalidTokenError):
        tokens.refresh(pair.access_token)
    with pytest.raises(InvalidTokenError):
        tokens.revoke(pair.access_token)


def test_revoking_is_idempotent_and_ends_refreshing(
    tokens: TokenService, service: ServiceRecord
) -> None:
    pair = tokens.issue(service.id)
    session_id = tokens.revoke(pair.refresh_token)
    assert tokens.revoke(pair.refresh_token) == session_id
    with pytest.raises(InvalidTokenError, match="revoked"):
        tokens.refresh(pair.refresh_token)


def test_an_expired_refresh_token_can_still_be_revoked(
    tracker: IncidentTracker, service: ServiceRecord
) -> None:
    clock = [time.time() - 1000]
    old = TokenService(tracker, keyring(), issuer=ISSUER, refresh_ttl=60, clock=lambda: clock[0])
    pair = old.issue(service.id)
    with pytest.raises(InvalidTokenError, match="expired"):
        old.refresh(pair.refresh_token)
    old.revoke(pair.refresh_token)


def test_ten_concurrent_refreshes_let_at_most_one_through(
    tokens: TokenService, service: ServiceRecord
) -> None:
    pair = tokens.issue(service.id)
    results: list[object] = []

    def refresh() -> None:
        try:
            results.append(tokens.refresh(pair.refresh_token))
        except InvalidTokenError as error:
            results.append(error)

    threads = [threading.Thread(target=refresh) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if not isinstance(r, InvalidTokenError)]
    assert len(results) == 10 and len(winners) <= 1
