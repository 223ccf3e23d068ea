"""Every error over real HTTP is an RFC 9457 problem with the SPEC's status, and leaks nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.web.conftest import Api, assert_problem, assert_validation_problem

#: (method, path, needs a token) of every endpoint that takes a JSON body.
BODY_ENDPOINTS = {
    "register": ("POST", "/api/v1/services/", False),
    "token": ("POST", "/api/v1/token/", False),
    "refresh": ("POST", "/api/v1/token/refresh", False),
    "revoke": ("POST", "/api/v1/token/revoke", False),
    "report": ("POST", "/api/v1/incidents/", True),
    "change status": ("PATCH", "/api/v1/incidents/{id}", True),
}


def send(
    api: Api, writer: dict[str, str], incident: dict[str, Any], endpoint: str, **kwargs: Any
) -> httpx.Response:
    method, path, secured = BODY_ENDPOINTS[endpoint]
    headers = {**(writer if secured else {}), **kwargs.pop("headers", {})}
    return api.http.request(method, path.format(id=incident["id"]), headers=headers, **kwargs)


JSON = {"Content-Type": "application/json"}


# 400, 413, 415 ------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"{", b"", b'{"source": "operator",}', b"\xff\xfe{}",
                                  b"[" * 10_000 + b"]" * 10_000])
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_a_body_that_is_not_json_is_400(
    api: Api, writer: dict[str, str], incident: dict[str, Any], endpoint: str, body: bytes
) -> None:
    assert_problem(send(api, writer, incident, endpoint, content=body, headers=JSON), 400)


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null", b"true"])
@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_a_json_body_that_is_not_an_object_is_400(
    api: Api, writer: dict[str, str], incident: dict[str, Any], endpoint: str, body: bytes
) -> None:
    assert_problem(send(api, writer, incident, endpoint, content=body, headers=JSON), 400)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
def test_a_body_over_64_kib_is_413(
    api: Api, writer: dict[str, str], incident: dict[str, Any], endpoint: str
) -> None:
    body = {"source": "operator", "description": "x" * 65_536}
    assert_problem(send(api, writer, incident, endpoint, json=body), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_that_is_not_sent_as_json_is_415(
    api: Api, writer: dict[str, str], content_type: str
) -> None:
    response = api.http.post("/api/v1/incidents/", headers={**writer, "Content-Type": content_type},
                             content=b'{"source": "operator", "description": "x"}')
    assert_problem(response, 415)


# 422 ----------------------------------------------------------------------------------------

INVALID_BODIES = {
    "blank name": ("register", {"name": "  ", "scopes": ["read"]}, ["body", "name"]),
    "name too long": ("register", {"name": "n" * 256, "scopes": ["read"]}, ["body", "name"]),
    "no scopes": ("register", {"name": "n", "scopes": []}, ["body", "scopes"]),
    "unknown scope": ("register", {"name": "n", "scopes": ["admin"]}, ["body", "scopes", 0]),
    "repeated scope": ("register", {"name": "n", "scopes": ["read", "read"]}, ["body", "scopes"]),
    "unknown field": ("register", {"name": "n", "scopes": ["read"], "admin": True},
                      ["body", "admin"]),
    "bad uuid": ("token", {"service_id": "not-a-uuid"}, ["body", "service_id"]),
    "missing service": ("token", {}, ["body", "service_id"]),
    "numeric token": ("refresh", {"refresh_token": 42}, ["body", "refresh_token"]),
    "empty token": ("revoke", {"refresh_token": ""}, ["body", "refresh_token"]),
    "bad source": ("report", {"source": "email", "description": "x"}, ["body", "source"]),
    "blank description": ("report", {"source": "operator", "description": " \t\n"},
                          ["body", "description"]),
    "description too long": ("report", {"source": "operator", "description": "d" * 10_001},
                             ["body", "description"]),
    "NUL in description": ("report", {"source": "operator", "description": "a\u0000b"},
                           ["body", "description"]),
    "missing description": ("report", {"source": "operator"}, ["body", "description"]),
    "extra field": ("report", {"source": "operator", "description": "x", "status": "closed"},
                    ["body", "status"]),
    "bad status": ("change status", {"status": "done"}, ["body", "status"]),
    "null status": ("change status", {"status": None}, ["body", "status"]),
}


@pytest.mark.parametrize("case", INVALID_BODIES)
def test_a_body_that_breaks_the_schema_is_422_naming_the_field(
    api: Api, writer: dict[str, str], incident: dict[str, Any], case: str
) -> None:
    endpoint, body, loc = INVALID_BODIES[case]
    assert_validation_problem(send(api, writer, incident, endpoint, json=body), *loc)


def test_every_bad_field_is_named(api: Api, writer: dict[str, str]) -> None:
    response = api.http.post("/api/v1/incidents/", headers=writer,
                             json={"source": "email", "description": "", "when": "now"})
    body = assert_validation_problem(response, "body", "source")
    assert {("body", "description"), ("body", "when")} <= {tuple(e["loc"]) for e in body["errors"]}


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=abc", "page=1000001",
                                   "page_size=19", "page_size=51", "page_size=2.5",
                                   "status=open", "status=", "page=1&page=2"])
def test_a_list_query_out_of_range_is_422(api: Api, writer: dict[str, str], query: str) -> None:
    name = query.split("=")[0]
    response = api.http.get(f"/api/v1/incidents/?{query}", headers=writer)
    assert_validation_problem(response, "query", name)


@pytest.mark.parametrize("path", ["/api/v1/incidents/{bad}", "/api/v1/incidents/{bad}/history"])
@pytest.mark.parametrize("bad", ["not-a-uuid", "12345", "0" * 36])
def test_an_incident_id_that_is_not_a_uuid_is_422(
    api: Api, writer: dict[str, str], path: str, bad: str
) -> None:
    response = api.http.get(path.format(bad=bad), headers=writer)
    assert_validation_problem(response, "path", "incident_id")


def test_patching_an_incident_id_that_is_not_a_uuid_is_422(
    api: Api, writer: dict[str, str]
) -> None:
    response = api.http.patch("/api/v1/incidents/42", headers=writer, json={"status": "closed"})
    assert_validation_problem(response, "path", "incident_id")


@pytest.mark.parametrize("key", ["", "has space", "k" * 256, "ключ"])
def test_an_unusable_idempotency_key_is_422(api: Api, writer: dict[str, str], key: str) -> None:
    response = api.http.post(
        "/api/v1/incidents/", headers={**writer, "Idempotency-Key": key.encode()},
        json={"source": "operator", "description": "x"},
    )
    assert_validation_problem(response, "header", "Idempotency-Key")


def test_the_longest_name_and_description_are_accepted(api: Api) -> None:
    service_id = api.register(name="n" * 255)
    headers = {"Authorization": f"Bearer {api.tokens(service_id)['access_token']}"}
    created = api.create_incident(headers, description="ü" * 10_000)
    assert len(created["description"]) == 10_000


def test_two_authorization_headers_are_400(api: Api, writer: dict[str, str]) -> None:
    response = api.http.get("/api/v1/incidents/", headers=[
        ("Authorization", writer["Authorization"]), ("Authorization", "Bearer other")])
    assert_problem(response, 400)


# 404, 405 ------------------------------------------------------------------------------------

def test_an_unknown_path_is_a_404_problem(api: Api) -> None:
    assert_problem(api.http.get("/api/v1/nothing-here"), 404)


@pytest.mark.parametrize("method", ["DELETE", "PUT", "TRACE"])
@pytest.mark.parametrize("path", ["/api/v1/incidents/", f"/api/v1/incidents/{uuid.uuid4()}",
                                  f"/api/v1/incidents/{uuid.uuid4()}/history"])
def test_an_unsupported_method_is_405_listing_the_allowed_ones(
    api: Api, method: str, path: str
) -> None:
    response = api.http.request(method, path)
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert "GET" in allowed and method not in allowed


# What errors never show ---------------------------------------------------------------------

LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|SELECT |INSERT |UPDATE |sqlite|psycopg|eventsourcing|"
    r"pydantic|BEGIN (RSA )?PRIVATE KEY|stored_events|Exception",
    re.IGNORECASE,
)
NASTY_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/incidents/", {"json": {"source": "operator'; DROP TABLE x;--",
                                             "description": "x"}}),
    ("POST", "/api/v1/incidents/", {"content": b'{"source": "operator", "description": "\\ud800"}',
                                    "headers": {"Content-Type": "application/json"}}),
    ("GET", "/api/v1/incidents/?status=new'%20OR%201=1--", {}),
    ("GET", "/api/v1/incidents/?page=99999999999999999999999", {}),
    ("GET", f"/api/v1/incidents/{uuid.uuid4()}?version=99999999999", {}),
    ("POST", "/api/v1/token/", {"json": {"service_id": "' OR 1=1 --"}}),
    ("POST", "/api/v1/token/refresh", {"json": {"refresh_token": "eyJhbGciOiJub25lIn0.e30."}}),
    ("POST", "/api/v1/token/revoke", {"json": {"refresh_token": "a" * 4096}}),
    ("PATCH", f"/api/v1/incidents/{uuid.uuid4()}", {"json": {"status": ["closed"]}}),
]


def nasty_responses(api: Api, writer: dict[str, str]) -> list[httpx.Response]:
    responses = []
    for method, path, kwargs in NASTY_REQUESTS:
        headers = {**writer, **kwargs.get("headers", {})}
        options = {k: v for k, v in kwargs.items() if k != "headers"}
        responses.append(api.http.request(method, path, headers=headers, **options))
    return responses


def test_bad_input_never_shows_a_stack_trace_sql_or_key(api: Api, writer: dict[str, str]) -> None:
    key = api.signing_key_file.read_text().splitlines()[1]
    for response in nasty_responses(api, writer):
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert not LEAKS.search(response.text), response.text
        assert key not in response.text


def test_client_errors_are_not_logged_as_tracebacks(api: Api, writer: dict[str, str]) -> None:
    nasty_responses(api, writer)
    assert "Traceback" not in api.server.log()


# Request ids ---------------------------------------------------------------------------------

def test_a_request_id_is_echoed(api: Api) -> None:
    response = api.http.get("/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert response.headers["x-request-id"] == "trace-42.a:b"


def test_errors_carry_the_request_id_too(api: Api) -> None:
    response = api.http.get("/api/v1/incidents/", headers={"X-Request-ID": "req-401"})
    assert response.status_code == 401 and response.headers["x-request-id"] == "req-401"


def test_a_request_without_a_usable_id_gets_a_new_one(api: Api) -> None:
    plain = api.http.get("/health")
    odd = api.http.get("/health", headers={"X-Request-ID": "spaces are not ok"})
    assert re.fullmatch(r"[0-9a-f]{32}", plain.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
