"""Shared fixtures: every backend-dependent test runs on SQLite and on real PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.databases import PostgresDatabases, postgres_problem, sqlite_url

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    problem = postgres_problem()
    if problem:
        if os.environ.get("SKIP_POSTGRES") == "1" and not os.environ.get("CI"):
            pytest.skip(f"SKIP_POSTGRES=1: {problem}")
        pytest.fail(f"{problem}. The suite needs PostgreSQL (see README).", pytrace=False)
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture
def new_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], str]:
    """``new_database("sqlite" | "postgres" | "memory")`` -> a DATABASE_URL of its own."""

    def create(kind: str) -> str:
        if kind == "postgres":
            return request.getfixturevalue("postgres").create()
        if kind == "sqlite":
            return sqlite_url(tmp_path_factory.mktemp("sqlite"))
        if kind == "memory":
            return "memory://"
        raise ValueError(kind)

    return create


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, new_database: Callable[[str], str]) -> str:
    """A fresh database on each backend the read model supports."""
    return new_database(request.param)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
