"""``.env.example`` and the README's configuration table agree with the ``Settings`` class.

.env.example: one ``NAME=value`` line per setting, each right after a ``#`` comment line.
README.md: under a heading that starts with "Configuration", a markdown table with one row per
setting whose first cell is the name in backticks: ``| `DATABASE_URL` | ... |``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.conftest import SETTING_NAMES
from tests.support.server import ROOT
from web.settings import Settings

ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"
#: Read by docker-compose.yml only, not by the service.
COMPOSE_ONLY = {"POSTGRES_PASSWORD"}
_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
_TABLE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def env_example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text().splitlines()


def env_example_names() -> list[str]:
    return [m.group(1) for line in env_example_lines() if (m := _ASSIGNMENT.match(line))]


def readme_configuration_rows(text: str) -> list[str]:
    """First-cell names of table rows in the README's "Configuration..." section."""
    names, level = [], 0
    for line in text.splitlines():
        if heading := _HEADING.match(line):
            depth = len(heading.group(1))
            if heading.group(2).lower().startswith("configuration"):
                level = depth
            elif level and depth <= level:
                level = 0
        elif level and (row := _TABLE_ROW.match(line)):
            names.append(row.group(1))
    return names


@pytest.fixture
def no_settings_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


def test_env_example_lists_every_setting_once_and_nothing_unknown() -> None:
    names = env_example_names()
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert set(names) - COMPOSE_ONLY == set(SETTING_NAMES)


def test_env_example_values_are_the_built_in_defaults(no_settings_in_environment: None) -> None:
    from_example = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    built_in = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_example.model_dump() == built_in.model_dump()


def test_every_variable_in_env_example_has_a_comment_above_it() -> None:
    lines = env_example_lines()
    uncommented = [
        line.split("=")[0] for before, line in zip(["", *lines], lines, strict=False)
        if _ASSIGNMENT.match(line) and not before.startswith("#")
    ]
    assert uncommented == []


def test_an_empty_value_in_the_env_file_means_the_default(
    no_settings_in_environment: None, tmp_path: Path
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("WORKERS=\nSIGNING_KEY_FILE=\nCORS_ORIGINS=\nPORT=9000\n")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.workers, settings.signing_key_file, settings.cors_origins, settings.port) \
        == (defaults.workers, None, [], 9000)


def test_the_readme_configuration_table_has_a_row_for_every_setting() -> None:
    rows = readme_configuration_rows(README.read_text() if README.exists() else "")
    missing = [name for name in SETTING_NAMES if name not in rows]
    assert missing == [], f"README.md's configuration table lacks rows for {missing}"


def test_the_readme_configuration_table_names_no_unknown_variable() -> None:
    rows = readme_configuration_rows(README.read_text() if README.exists() else "")
    unknown = sorted(set(rows) - set(SETTING_NAMES) - COMPOSE_ONLY)
    assert rows, "README.md has no configuration table (see this module's docstring)"
    assert unknown == [], f"unknown variables in README.md's table: {unknown}"
