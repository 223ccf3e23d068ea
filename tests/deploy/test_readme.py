"""The README's API walkthrough runs verbatim against a live server."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.databases import sqlite_url
from tests.support.server import ROOT, Server


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## API walkthrough", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL))


def test_the_readme_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    script = walkthrough()
    assert "api/v1/incidents" in script and "token/revoke" in script
    with Server(sqlite_url(tmp_path), tmp_path) as server:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path, env={**server.env, "BASE": server.url},
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"status":"in_progress"' in out
    assert '"type":"StatusChanged"' in out and '"from":"new","to":"in_progress"' in out
    assert '"allowed_statuses":["resolved","closed"]' in out
    assert '{"message":"the session is revoked"}' in out
