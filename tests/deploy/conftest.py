"""Running the product the way an operator does: the console script, real servers, real files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import ApiClient
from tests.support.databases import sqlite_url
from tests.support.server import ROOT, Server
from web.settings import Settings

#: The console script pyproject.toml installs; the Docker image's ENTRYPOINT runs it too.
CONSOLE_SCRIPT = Path(sys.executable).with_name("incident-tracker")
SETTING_NAMES = [name.upper() for name in Settings.model_fields]


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any setting (so a developer's shell can't leak in)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_NAMES}
    return {**env, "PYTHONPATH": str(ROOT), **values}


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``incident-tracker ARGS`` to completion; output is rich's, 200 columns wide."""
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], cwd=cwd, capture_output=True, text=True,
        env={**clean_env(COLUMNS="200"), **(env or {})}, timeout=timeout, check=False,
    )


def wait_for(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")




@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server (text logs, API and projector) on an SQLite file, for the tests that read."""
    workdir = tmp_path_factory.mktemp("deploy-sqlite")
    server = Server(sqlite_url(workdir), workdir).start(timeout=60)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(sqlite_server: Server) -> Iterator[ApiClient]:
    client = ApiClient(sqlite_server.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def writer_token(client: ApiClient) -> str:
    return client.tokens(client.register(name="deploy-writer"))["access_token"]
