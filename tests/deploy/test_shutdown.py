"""SIGTERM (what `docker stop` and Kubernetes send to the main process) stops everything, cleanly.

The signal goes to the main process only, as a container runtime sends it; the test then checks
that no process of the server's process group (HTTP workers, projector) is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import clean_env, wait_for
from tests.support.databases import sqlite_url
from tests.support.server import ROOT, Server


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def terminate_main_process(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=30)
    wait_for(lambda: group_is_gone(process.pid), timeout=10, what="every child to exit")
    return code


def test_sigterm_stops_the_workers_and_the_projector_and_exits_0(tmp_path: Path) -> None:
    server = Server(sqlite_url(tmp_path), tmp_path, args=("serve", "--workers", "2")).start(60)
    try:
        wait_for(lambda: server.log().count("Worker ready") == 2, timeout=60,
                 what="both workers to be ready")
        wait_for(lambda: "projector started" in server.log(), timeout=30, what="the projector")
        assert server.process is not None
        assert terminate_main_process(server.process) == 0
    finally:
        server.stop()
    log = server.log()
    assert log.count("Worker complete") == 2
    assert "projector stopped" in log and "Server Stopped" in log


def test_sigterm_while_the_server_is_still_starting_exits_0_promptly(tmp_path: Path) -> None:
    # Server.start() returns on the first answer from /health, a moment before the worker
    # acknowledges its start to the manager: without the workaround in web/cli.py the manager
    # spins for 30 s, then kills the whole process group.
    server = Server(sqlite_url(tmp_path), tmp_path).start(60)
    try:
        assert server.process is not None
        assert terminate_main_process(server.process) == 0
    finally:
        server.stop()


def test_the_standalone_projector_stops_on_sigterm_and_exits_0(tmp_path: Path) -> None:
    log = tmp_path / "projector.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "web.cli", "project"], cwd=tmp_path, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
            env=clean_env(DATABASE_URL=sqlite_url(tmp_path), PYTHONPATH=str(ROOT)),
        )
    try:
        wait_for(lambda: "projector started" in log.read_text(), timeout=60,
                 what="the projector to start")
        assert terminate_main_process(process) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "projector stopped" in log.read_text()
