"""End-to-end fixtures: a real ``incident-tracker serve`` process per backend, shared by a session.

Starting a server costs seconds, so there is one per backend for the whole run (plus one with a
registration key). Tests never assume an empty database: each registers its own service, and
list tests compare totals before and after their own writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.client import ApiClient
from tests.support.databases import PostgresDatabases, sqlite_url
from tests.support.server import Server

BACKENDS = ["sqlite", "postgres"]
PROBLEM_JSON = "application/problem+json"
REGISTRATION_KEY = "let-me-register-0123456789"


class Api(ApiClient):
    """A running server and the calls most tests start with."""

    def __init__(self, server: Server, backend: str) -> None:
        super().__init__(server.url)
        self.server = server
        self.backend = backend

    @property
    def signing_key_file(self) -> Path:
        return Path(self.server.env["DEV_SIGNING_KEY_FILE"])


def start_server(
    database_url: str, workdir: Path, env: dict[str, str] | None = None
) -> Server:
    # A short revocation refresh keeps "rejected within a few seconds" quick to observe.
    return Server(
        database_url, workdir, env={"REVOCATION_REFRESH": "0.5", **(env or {})}
    ).start()


@pytest.fixture(scope="session")
def sqlite_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp("server-sqlite")
    server = start_server(sqlite_url(workdir), workdir)
    api = Api(server, "sqlite")
    yield api
    api.close()
    server.stop()


@pytest.fixture(scope="session")
def postgres_api(
    postgres: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp("server-postgres")
    server = start_server(postgres.create(), workdir)
    api = Api(server, "postgres")
    yield api
    api.close()
    server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def api(request: pytest.FixtureRequest) -> Api:
    """The running server of each backend, in turn."""
    return request.getfixturevalue(f"{request.param}_api")


@pytest.fixture(scope="session")
def guarded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server whose POST /services/ needs SERVICE_REGISTRATION_KEY."""
    workdir = tmp_path_factory.mktemp("server-guarded")
    server = start_server(
        sqlite_url(workdir), workdir, env={"SERVICE_REGISTRATION_KEY": REGISTRATION_KEY}
    )
    api = Api(server, "sqlite")
    yield api
    api.close()
    server.stop()


@pytest.fixture(scope="session")
def limited_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A server with small rate limits and a short request timeout, behind one trusted proxy
    (so each test can be its own client through X-Forwarded-For)."""
    workdir = tmp_path_factory.mktemp("server-limited")
    server = start_server(sqlite_url(workdir), workdir, env={
        "RATE_LIMIT_ANONYMOUS": "5/minute",
        "RATE_LIMIT_WRITES": "3/minute",
        "REQUEST_TIMEOUT": "2",
        "SANIC_PROXIES_COUNT": "1",
    })
    api = Api(server, "sqlite")
    yield api
    api.close()
    server.stop()


@pytest.fixture
def writer(api: Api) -> dict[str, str]:
    """Authorization headers of a fresh service with read and write scopes."""
    return api.auth()


@pytest.fixture
def incident(api: Api, writer: dict[str, str]) -> dict[str, Any]:
    return api.create_incident(writer)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with ``status``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def assert_validation_problem(response: httpx.Response, *loc: str | int) -> dict[str, Any]:
    """A 422 whose ``errors`` names the field at ``loc``."""
    body = assert_problem(response, 422)
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"loc", "msg"} and error["msg"]
    assert [*loc] in [e["loc"] for e in body["errors"]], body["errors"]
    return body
