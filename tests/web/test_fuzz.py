"""Schemathesis against the live server, with every check, on each backend.

CI runs a small number of examples per operation; the nightly run raises it:

    FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/web/test_fuzz.py -q

``FUZZ_SEED=<n>`` replays a run (the seed is printed in its report).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import ROOT
from tests.web.conftest import Api

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))


@pytest.mark.timeout(300 + EXAMPLES * 6)
def test_fuzzing_finds_no_server_error_and_no_response_outside_the_schema(
    api: Api, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", f"{api.url}/docs/openapi.json", "--url", api.url,
        "--max-examples", str(EXAMPLES), "--workers", "2", "--no-color",
    ]
    if seed := os.environ.get("FUZZ_SEED"):
        command += ["--seed", seed]
    env = {**os.environ, "FUZZ_SERVICE_ID": api.register(name="fuzzer"),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=False)
    report = run.stdout[-30_000:] + run.stderr[-5_000:]
    assert run.returncode == 0, report
    assert "Fuzzing" in run.stdout and "Stateful" in run.stdout, report
    assert "Traceback" not in api.server.log()  # not even for the strangest client error
