"""Fixtures of the fault tests: their scenarios are costly, so each runs once per module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.databases import sqlite_url


@pytest.fixture(scope="module")
def module_database(request: pytest.FixtureRequest) -> Callable[[str, Path], str]:
    """``module_database(kind, workdir)``: a fresh DATABASE_URL for one module's scenario."""

    def create(kind: str, workdir: Path) -> str:
        if kind == "postgres":
            return request.getfixturevalue("postgres").create()
        return sqlite_url(workdir)

    return create
