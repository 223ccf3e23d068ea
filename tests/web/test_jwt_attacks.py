"""Forged, tampered and stale tokens over real HTTP: every one is a 401, never a 500 or a 200."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.support.client import bearer
from tests.web.conftest import Api, assert_problem
from tests.web.forgery import (
    header_of,
    hs256_with_secret,
    public_pem_from_jwks,
    resigned,
    signed_by_another_key,
    tampered,
    unsigned,
)

Attack = Callable[[Api, str], str]


def expired(api: Api, token: str) -> str:
    now = int(time.time())
    return resigned(token, api.signing_key_file, iat=now - 7200, exp=now - 3600)


def hmac_keyed_with_our_public_key(api: Api, token: str) -> str:
    jwks = api.http.get("/.well-known/jwks.json").json()
    return hs256_with_secret(token, public_pem_from_jwks(jwks, header_of(token)["kid"]))


#: Tokens that are not ours (or not any more): each is rejected wherever a token is accepted.
NOT_OURS: dict[str, Attack] = {
    "alg none": lambda api, token: unsigned(token),
    "HS256 keyed with our public key": hmac_keyed_with_our_public_key,
    "another RSA key with our kid": lambda api, token: signed_by_another_key(token),
    "tampered payload": lambda api, token: tampered(token, scope="read write"),
    "another issuer": lambda api, token: resigned(token, api.signing_key_file, iss="evil"),
    "unknown kid": lambda api, token: resigned(token, api.signing_key_file, kid="evil"),
    "no expiry": lambda api, token: resigned(token, api.signing_key_file, drop=("exp",)),
}
#: Stale tokens are refused for access and refresh, but revoking them is fine (idempotent).
STALE: dict[str, Attack] = {"expired": expired}


@pytest.fixture
def read_only(api: Api) -> dict[str, Any]:
    return api.session(("read",))


def assert_rejected(response: httpx.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize("attack", {**NOT_OURS, **STALE})
def test_a_forged_or_expired_access_token_is_401(
    api: Api, read_only: dict[str, Any], attack: str
) -> None:
    forged = {**NOT_OURS, **STALE}[attack](api, read_only["access_token"])
    assert_rejected(api.http.get("/api/v1/incidents/", headers=bearer(forged)))
    assert_rejected(api.http.post("/api/v1/incidents/", headers=bearer(forged),
                                  json={"source": "operator", "description": "forged"}))


@pytest.mark.parametrize("attack", {**NOT_OURS, **STALE})
def test_a_forged_or_expired_refresh_token_cannot_be_refreshed(
    api: Api, read_only: dict[str, Any], attack: str
) -> None:
    forged = {**NOT_OURS, **STALE}[attack](api, read_only["refresh_token"])
    assert_rejected(api.http.post("/api/v1/token/refresh", json={"refresh_token": forged}))


@pytest.mark.parametrize("attack", NOT_OURS)
def test_a_forged_refresh_token_cannot_revoke_the_session(
    api: Api, read_only: dict[str, Any], attack: str
) -> None:
    forged = NOT_OURS[attack](api, read_only["refresh_token"])
    assert_rejected(api.http.post("/api/v1/token/revoke", json={"refresh_token": forged}))
    genuine = {"refresh_token": read_only["refresh_token"]}
    assert api.http.post("/api/v1/token/refresh", json=genuine).status_code == 200
