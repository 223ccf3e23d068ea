"""The wheel the Docker image installs is complete and needs nothing undeclared in pyproject.

The test suite runs an editable install from the checkout, which hides both kinds of mistake: a
data file left out of the wheel, or a module that is only installed because a test tool pulls
it in. The image (pip install of the wheel, no test extras) would fail at start.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.dockerfiles import copy_sources, stages
from tests.support.server import ROOT
from web.observability import log_config
from web.settings import Settings

PACKAGES = ["domain", "application", "projections", "web"]


def declared_dependencies() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def installed_closure(requirements: list[str]) -> set[str]:
    """Every distribution the requirements install, following each one's own requirements."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        key = f"{canonicalize_name(requirement.name)}[{','.join(sorted(requirement.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(requirement.name) or []:
            sub = Requirement(text)
            extras = requirement.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return {key.split("[")[0] for key in seen}


def third_party_modules() -> set[str]:
    """Top-level modules the runtime packages import, plus those named in the logging config."""
    modules = set()
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules.add(node.module.split(".")[0])
    for json in (False, True):
        settings = Settings(log_format="json" if json else "text", _env_file=None)  # type: ignore[call-arg]
        config = log_config(settings)
        factories = [f.get("()", "") for f in config["formatters"].values()]
        modules |= {factory.split(".")[0] for factory in factories if factory}
    return modules - set(sys.stdlib_module_names) - set(PACKAGES) - {"__future__"}


def test_every_third_party_module_the_service_uses_is_installed_by_its_dependencies() -> None:
    providers = metadata.packages_distributions()
    installed = installed_closure(declared_dependencies())
    missing = {
        module: providers.get(module, ["?"])
        for module in sorted(third_party_modules())
        if not {canonicalize_name(d) for d in providers.get(module, [])} & installed
    }
    assert missing == {}, f"add to [project].dependencies in pyproject.toml: {missing}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from exactly what the Dockerfile copies into its build stage."""
    context = tmp_path_factory.mktemp("build-context")
    for source in copy_sources(stages(ROOT / "Dockerfile")[0]):
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, context / source,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(ROOT / source, context / source)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
         str(context)], check=True, timeout=300,
    )
    [built] = out.glob("*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_every_file_of_the_runtime_packages(wheel: zipfile.ZipFile) -> None:
    in_source = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert sorted(in_source - set(wheel.namelist())) == []


def test_the_wheel_installs_the_incident_tracker_console_script(
    wheel: zipfile.ZipFile,
) -> None:
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[console_scripts]" in text and "incident-tracker = web.cli:main" in text


def test_the_wheel_is_built_from_a_readme_that_exists() -> None:
    # pyproject.toml names README.md as the long description; the Dockerfile copies it.
    readme = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["readme"]
    assert Path(readme).name in copy_sources(stages(ROOT / "Dockerfile")[0])
