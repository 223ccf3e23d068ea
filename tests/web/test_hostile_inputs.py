"""Hostile requests are answered fast with a 4xx, and never reach the event store."""

from __future__ import annotations

import socket
import time

import httpx

from tests.support.client import bearer
from tests.web.conftest import Api, assert_problem

FAST = 2.0  # seconds: a refusal must not cost the server more than this


def timed(call: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()  # type: ignore[operator]
    return response, time.monotonic() - started


def test_a_ten_megabyte_body_is_refused_with_413(api: Api, writer: dict[str, str]) -> None:
    body = b'{"source": "operator", "description": "' + b"x" * 10_000_000 + b'"}'
    headers = {**writer, "Content-Type": "application/json"}
    try:
        response, elapsed = timed(
            lambda: api.http.post("/api/v1/incidents/", content=body, headers=headers)
        )
    except httpx.WriteError:
        return  # the server answered 413 and closed while we were still sending: also a refusal
    assert_problem(response, 413)
    assert elapsed < FAST


def test_deeply_nested_json_is_refused_with_400(api: Api, writer: dict[str, str]) -> None:
    body = "[" * 20_000 + "]" * 20_000
    response, elapsed = timed(lambda: api.http.post(
        "/api/v1/incidents/", content=body,
        headers={**writer, "Content-Type": "application/json"},
    ))
    assert_problem(response, 400)
    assert elapsed < FAST


def test_a_body_that_is_not_utf8_is_refused_with_400(api: Api, writer: dict[str, str]) -> None:
    body = b'{"source": "operator", "description": "\xff\xfe broken"}'
    response = api.http.post(
        "/api/v1/incidents/", content=body,
        headers={**writer, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


def test_a_megabyte_token_is_refused_fast(api: Api) -> None:
    response, elapsed = timed(lambda: api.http.get(
        "/api/v1/incidents/", headers=bearer("e" * 1_000_000)
    ))
    assert 400 <= response.status_code < 500
    assert elapsed < FAST


def test_two_authorization_headers_are_refused_with_400(
    api: Api, writer: dict[str, str]
) -> None:
    headers = [("Authorization", writer["Authorization"]), ("Authorization", "Bearer other")]
    response = api.http.get("/api/v1/incidents/", headers=headers)
    assert_problem(response, 400)


def test_a_token_in_the_query_string_is_ignored(api: Api) -> None:
    token = api.session(("read",))["access_token"]
    response = api.http.get("/api/v1/incidents/", params={"access_token": token})
    assert_problem(response, 401)
    with_header = api.http.get(
        "/api/v1/incidents/", params={"access_token": "junk"}, headers=bearer(token)
    )
    assert with_header.status_code == 200


def test_a_very_long_url_is_refused_fast(api: Api, writer: dict[str, str]) -> None:
    response, elapsed = timed(lambda: api.http.get(
        "/api/v1/incidents/", params={"status": "n" * 60_000}, headers=writer
    ))
    assert 400 <= response.status_code < 500
    assert elapsed < FAST


def test_a_slow_client_is_cut_off_after_the_request_timeout(limited_api: Api) -> None:
    with socket.create_connection(("127.0.0.1", limited_api.server.port), timeout=10) as conn:
        conn.sendall(b"POST /api/v1/services/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
        started = time.monotonic()
        received = b""
        while chunk := conn.recv(4096):  # the server closes the connection: recv returns b""
            received += chunk
        waited = time.monotonic() - started
    assert waited < 2 + FAST  # REQUEST_TIMEOUT=2 on this server
    assert received == b"" or received.startswith(b"HTTP/1.1 408")
