"""Services and tokens over real HTTP: registration, issuing, rotation, theft, revocation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.support.client import bearer
from tests.web.conftest import (
    REGISTRATION_KEY,
    Api,
    assert_problem,
    assert_validation_problem,
)
from tests.web.forgery import claims_of, header_of, resigned

INVALID_TOKEN = 'Bearer error="invalid_token"'


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def rejected(api: Api, access_token: str) -> Callable[[], bool]:
    def check() -> bool:
        response = api.http.get("/api/v1/incidents/", headers=bearer(access_token))
        return response.status_code == 401
    return check


def refresh(api: Api, refresh_token: str) -> httpx.Response:
    return api.http.post("/api/v1/token/refresh", json={"refresh_token": refresh_token})


def revoke(api: Api, refresh_token: str) -> httpx.Response:
    return api.http.post("/api/v1/token/revoke", json={"refresh_token": refresh_token})


def assert_invalid_token(response: httpx.Response) -> None:
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith(INVALID_TOKEN)


# Services ------------------------------------------------------------------------------------

def test_registering_a_service_answers_201_with_id_name_time_and_scopes(api: Api) -> None:
    response = api.http.post("/api/v1/services/", json={"name": "monitoring",
                                                        "scopes": ["read", "write"]})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "created_at", "scopes"}
    assert body["id"] == str(uuid.UUID(body["id"]))
    assert (body["name"], body["scopes"]) == ("monitoring", ["read", "write"])


def test_registration_needs_the_registration_key_when_one_is_set(guarded_api: Api) -> None:
    body = {"name": "monitoring", "scopes": ["read"]}
    missing = guarded_api.http.post("/api/v1/services/", json=body)
    wrong = guarded_api.http.post("/api/v1/services/", json=body, headers=bearer("guess"))
    for response in (missing, wrong):
        assert_invalid_token(response)
        assert REGISTRATION_KEY not in response.text


def test_registration_with_the_registration_key_succeeds(guarded_api: Api) -> None:
    response = guarded_api.http.post("/api/v1/services/", headers=bearer(REGISTRATION_KEY),
                                     json={"name": "monitoring", "scopes": ["read"]})
    assert response.status_code == 201
    assert guarded_api.tokens(response.json()["id"])["token_type"] == "bearer"


# Issuing -------------------------------------------------------------------------------------

def test_a_service_gets_an_access_and_refresh_token_that_must_not_be_cached(api: Api) -> None:
    response = api.http.post("/api/v1/token/", json={"service_id": api.register()})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 600)
    assert response.headers["cache-control"] == "no-store"


def test_tokens_are_rs256_with_a_key_id_published_in_the_jwks(api: Api) -> None:
    tokens = api.session()
    jwks = api.http.get("/.well-known/jwks.json").json()
    kids = {key["kid"] for key in jwks["keys"]}
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert header_of(token)["alg"] == "RS256" and header_of(token)["kid"] in kids
    assert all(set(key) == {"kty", "use", "alg", "kid", "n", "e"} for key in jwks["keys"])


def test_tokens_carry_the_standard_claims_but_never_the_service_id(api: Api) -> None:
    service_id = api.register()
    tokens = api.tokens(service_id)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        claims = claims_of(token)
        assert {"iss", "sub", "iat", "exp", "jti"} <= claims.keys()
        assert claims["exp"] > claims["iat"]
        text = str(claims)
        assert service_id not in text and service_id.replace("-", "") not in text


def test_tokens_for_an_unknown_service_are_404(api: Api) -> None:
    response = api.http.post("/api/v1/token/", json={"service_id": str(uuid.uuid4())})
    assert_problem(response, 404)


# Scopes --------------------------------------------------------------------------------------

def test_a_read_only_token_cannot_report_incidents(api: Api) -> None:
    response = api.http.post("/api/v1/incidents/", headers=api.auth(("read",)),
                             json={"source": "operator", "description": "x"})
    assert_problem(response, 403)
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_a_write_only_token_cannot_read_incidents(api: Api) -> None:
    response = api.http.get("/api/v1/incidents/", headers=api.auth(("write",)))
    assert_problem(response, 403)
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer x.y.z"])
def test_a_missing_or_unusable_token_is_401_with_an_invalid_token_challenge(
    api: Api, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_invalid_token(api.http.get("/api/v1/incidents/", headers=headers))


def test_a_refresh_token_is_not_an_access_token(api: Api) -> None:
    tokens = api.session()
    assert_invalid_token(api.http.get("/api/v1/incidents/",
                                      headers=bearer(tokens["refresh_token"])))


# Rotation ------------------------------------------------------------------------------------

def test_refreshing_returns_a_new_pair_that_works(api: Api) -> None:
    tokens = api.session()
    response = refresh(api, tokens["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    assert pair["refresh_token"] != tokens["refresh_token"]
    listed = api.http.get("/api/v1/incidents/", headers=bearer(pair["access_token"]))
    assert listed.status_code == 200


def test_an_access_token_cannot_refresh_or_revoke(api: Api) -> None:
    access = api.session()["access_token"]
    assert_invalid_token(refresh(api, access))
    assert_invalid_token(revoke(api, access))


def test_replaying_a_rotated_refresh_token_is_401_and_revokes_the_whole_session(
    api: Api,
) -> None:
    first = api.session()
    second = refresh(api, first["refresh_token"]).json()
    assert_invalid_token(refresh(api, first["refresh_token"]))
    assert_invalid_token(refresh(api, second["refresh_token"]))
    assert eventually(rejected(api, second["access_token"]))
    assert eventually(rejected(api, first["access_token"]))


# Revocation ----------------------------------------------------------------------------------

def test_revoking_ends_the_session_for_its_refresh_and_access_tokens(api: Api) -> None:
    tokens = api.session()
    response = revoke(api, tokens["refresh_token"])
    assert response.status_code == 200 and response.json()["message"]
    assert_invalid_token(refresh(api, tokens["refresh_token"]))
    assert eventually(rejected(api, tokens["access_token"]))


def test_revoking_one_session_leaves_the_other_sessions_of_the_service_alone(api: Api) -> None:
    service_id = api.register()
    ended, kept = api.tokens(service_id), api.tokens(service_id)
    revoke(api, ended["refresh_token"])
    assert eventually(rejected(api, ended["access_token"]))
    listed = api.http.get("/api/v1/incidents/", headers=bearer(kept["access_token"]))
    assert listed.status_code == 200
    assert refresh(api, kept["refresh_token"]).status_code == 200


def test_revoking_twice_is_200(api: Api) -> None:
    tokens = api.session()
    assert revoke(api, tokens["refresh_token"]).status_code == 200
    assert revoke(api, tokens["refresh_token"]).status_code == 200


def test_revoking_an_expired_refresh_token_is_200(api: Api) -> None:
    tokens = api.session()
    expired = resigned(tokens["refresh_token"], api.signing_key_file,
                       iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    assert_invalid_token(refresh(api, expired))
    assert revoke(api, expired).status_code == 200
    assert eventually(rejected(api, tokens["access_token"]))


@pytest.mark.parametrize("token", ["not-a-token", "a.b.c", "e30.e30.e30"])
def test_revoking_something_that_is_not_our_token_is_401(api: Api, token: str) -> None:
    assert_invalid_token(revoke(api, token))


def test_a_refresh_token_longer_than_any_of_ours_is_422(api: Api) -> None:
    assert_validation_problem(revoke(api, "x" * 5000), "body", "refresh_token")
