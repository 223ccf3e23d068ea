"""Dockerfile and docker-compose.yml, checked without a Docker engine.

What can be checked here is checked for real: the image's entrypoint and command are run through
the same console script the tests use, its HEALTHCHECK command is run against a live server,
and each compose service's command is parsed by the CLI.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import SETTING_NAMES, run_cli
from tests.deploy.dockerfiles import copy_sources, in_build_context, instructions, stages
from tests.support.server import CLI, ROOT, Server, free_port
from web.settings import Settings

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
APP_IMAGE = "incident-tracker:local"
EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 (a container must bind it to be reachable)


def one(keyword: str) -> Any:
    found = [i for i in stages(DOCKERFILE)[-1] if i.keyword == keyword]
    assert len(found) == 1, f"the runtime stage has {len(found)} {keyword} instructions"
    return found[0]


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def app_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose()["services"].items()
            if service.get("image") == APP_IMAGE}


def env_example_value(name: str) -> str:
    match = re.search(rf"^{name}=(.*)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    assert match, name
    return match.group(1)


def interpolate(value: str) -> str:
    """Compose's ``${NAME:-default}``, with NAME taken from .env.example."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env_example_value(m.group(1)) or m.group(2),
                  value)


# --- the image ------------------------------------------------------------------------------

def test_the_image_runs_the_console_script_that_the_tests_run() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert one("ENTRYPOINT").exec_form() == ["incident-tracker"]
    assert scripts["incident-tracker"] == "web.cli:main"
    assert CLI[1:] == ["-m", "web.cli"]  # tests/support/server.py runs the same module


def test_the_image_command_serves_on_every_interface_and_the_cli_accepts_it(
    tmp_path: Path,
) -> None:
    command = one("CMD").exec_form()
    assert command == ["serve", "--host", EVERY_INTERFACE]
    result = run_cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_image_is_built_in_one_stage_and_run_from_a_slim_python_3_11_in_another() -> None:
    build, runtime = stages(DOCKERFILE)
    assert build[0].words()[-2:] == ["AS", "build"]
    base = next(i for i in instructions(DOCKERFILE) if i.keyword == "ARG").args
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11-slim(-\w+)?", base), base
    assert runtime[0].args == "${PYTHON_IMAGE}"
    assert any("pip wheel" in i.args for i in build if i.keyword == "RUN")
    assert any(i.keyword == "COPY" and "--from=build" in i.args for i in runtime)


def test_the_image_runs_as_an_unprivileged_user() -> None:
    user = one("USER").args.split(":")[0]
    assert user not in ("root", "0")
    runtime = stages(DOCKERFILE)[-1]
    keywords = [i.keyword for i in runtime]
    assert keywords.index("USER") > max(k for k, word in enumerate(keywords) if word == "RUN")


def test_the_image_exposes_the_port_it_serves_on() -> None:
    assert one("EXPOSE").args == "8000"
    assert "PORT=8000" in one("ENV").words() and "PYTHONUNBUFFERED=1" in one("ENV").words()


def test_the_image_healthcheck_passes_against_a_running_server(sqlite_server: Server) -> None:
    command = one("HEALTHCHECK").exec_form()
    assert command[0] == "python"
    result = subprocess.run([sys.executable, *command[1:]], timeout=30, check=False,
                            env={"PORT": str(sqlite_server.port)})
    assert result.returncode == 0


def test_the_image_healthcheck_fails_when_nothing_answers() -> None:
    command = one("HEALTHCHECK").exec_form()
    result = subprocess.run([sys.executable, *command[1:]], timeout=30, check=False,
                            env={"PORT": str(free_port())}, capture_output=True)
    assert result.returncode != 0


def test_every_path_the_dockerfile_copies_is_in_the_build_context() -> None:
    sources = copy_sources(stages(DOCKERFILE)[0])
    assert {"pyproject.toml", "web"} <= set(sources)
    assert [s for s in sources if not in_build_context(s, DOCKERIGNORE)] == []


@pytest.mark.parametrize("path", [
    ".env", ".incident-tracker/dev-signing-key.pem", "incident-tracker.db", ".venv/bin/python",
    ".git/config", "tests/conftest.py", "web/__pycache__/cli.cpython-311.pyc",
])
def test_the_build_context_leaves_out_secrets_local_state_and_tests(path: str) -> None:
    assert not in_build_context(path, DOCKERIGNORE)


# --- docker-compose.yml -------------------------------------------------------------------

def test_compose_runs_postgres_17_with_a_healthcheck_and_a_named_volume() -> None:
    db = compose()["services"]["db"]
    assert db["image"] == "postgres:17"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]


@pytest.mark.parametrize("service", ["api", "projector"])
def test_compose_starts_the_service_after_a_healthy_database_and_the_key_job(
    service: str,
) -> None:
    assert app_services()[service]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "keygen": {"condition": "service_completed_successfully"},
    }


def test_compose_runs_api_nodes_without_a_projector_and_one_projector_beside_them() -> None:
    services = app_services()
    assert services["api"]["command"] == ["serve", "--no-projector", "--host", EVERY_INTERFACE]
    assert services["projector"]["command"] == ["project"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]


def test_every_compose_command_is_accepted_by_the_cli(tmp_path: Path) -> None:
    for name, service in app_services().items():
        result = run_cli(*service["command"], "--help", cwd=tmp_path)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_compose_services_read_their_settings_from_dot_env() -> None:
    for service in app_services().values():
        assert service["env_file"] == ".env"
        assert set(service["environment"]) <= set(SETTING_NAMES)


def test_compose_keygen_writes_the_key_that_the_other_services_read() -> None:
    services = app_services()
    keygen = services.pop("keygen")
    path = Path(keygen["command"][1])
    assert keygen["command"] == ["keygen", str(path), "--keep-existing"]
    volume, mount = keygen["volumes"][0].split(":")[:2]
    assert path.parent == Path(mount) and volume in compose()["volumes"]
    for service in services.values():
        assert service["environment"]["SIGNING_KEY_FILE"] == str(path)
        assert service["volumes"] == [f"{volume}:{mount}:ro"]


def test_compose_database_url_is_a_valid_setting_pointing_at_the_db_service() -> None:
    db = compose()["services"]["db"]["environment"]
    url = interpolate(app_services()["api"]["environment"]["DATABASE_URL"])
    database = Settings(database_url=url, _env_file=None).database  # type: ignore[call-arg]
    assert (database.kind, database.host, database.port) == ("postgres", "db", 5432)
    assert (database.user, database.name) == (db["POSTGRES_USER"], db["POSTGRES_DB"])
    assert database.password == interpolate(db["POSTGRES_PASSWORD"])
