"""Logs as an operator reads them: one line per request, text by default, JSON on request."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.conftest import wait_for
from tests.support.databases import sqlite_url
from tests.support.server import Server


def lines_with(server: Server, text: str) -> list[str]:
    return [line for line in server.log().splitlines() if text in line]


def request_logged_once(server: Server, path: str) -> list[str]:
    """Send GET ``path`` with a fresh request id; the log lines that carry that id.

    A second request follows and is waited for: once its line is written, every line about the
    first request (one worker handles both in turn) has been written too.
    """
    request_id, marker = f"req-{uuid.uuid4().hex}", f"req-{uuid.uuid4().hex}"
    response = httpx.get(server.url + path, headers={"X-Request-ID": request_id})
    assert response.headers["X-Request-ID"] == request_id
    httpx.get(server.url + "/health", headers={"X-Request-ID": marker})
    wait_for(lambda: lines_with(server, marker), what="the access log line")
    return lines_with(server, request_id)


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = tmp_path_factory.mktemp("deploy-json-logs")
    server = Server(sqlite_url(workdir), workdir, env={"LOG_FORMAT": "json"}).start(timeout=60)
    yield server
    server.stop()


def test_a_text_access_log_line_has_method_path_status_latency_and_request_id(
    sqlite_server: Server,
) -> None:
    [line] = request_logged_once(sqlite_server, "/api/v1/incidents/?page=1")
    assert " INFO " in line and "incident_tracker.access" in line
    assert " GET /api/v1/incidents/ 401 " in line
    assert "ms request_id=req-" in line


def test_a_request_the_router_does_not_know_is_logged_too(sqlite_server: Server) -> None:
    [line] = request_logged_once(sqlite_server, "/no/such/route")
    assert "GET /no/such/route 404" in line


def test_json_logs_carry_the_request_fields_as_fields(json_server: Server) -> None:
    [line] = request_logged_once(json_server, "/health")
    record = json.loads(line)
    assert record["logger"] == "incident_tracker.access" and record["level"] == "INFO"
    assert record["request_id"].startswith("req-")
    assert (record["method"], record["path"], record["status"]) == ("GET", "/health", 200)
    assert isinstance(record["latency_ms"], float) and record["latency_ms"] >= 0
    assert record["time"].endswith("+00:00")


def test_every_line_of_a_json_log_is_a_json_object(json_server: Server) -> None:
    request_logged_once(json_server, "/ready")
    lines = json_server.log().splitlines()
    assert len(lines) > 3
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_a_request_without_an_id_gets_one_in_the_response_and_the_log(
    json_server: Server,
) -> None:
    response = httpx.get(json_server.url + "/health")
    generated = response.headers["X-Request-ID"]
    [line] = wait_for(lambda: lines_with(json_server, generated), what="the access log line")
    assert json.loads(line)["request_id"] == generated


def test_access_log_false_switches_request_lines_off(tmp_path: Path) -> None:
    server = Server(sqlite_url(tmp_path), tmp_path, env={"ACCESS_LOG": "false"})
    with server:
        request_id = f"req-{uuid.uuid4().hex}"
        assert httpx.get(server.url + "/health",
                         headers={"X-Request-ID": request_id}).status_code == 200
    log = server.log()  # complete: the server has stopped
    assert "Server Stopped" in log
    assert request_id not in log and "incident_tracker.access" not in log
