"""A stream of writes through the application, and a standalone projector process to kill."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from uuid import UUID, uuid4

from application.records import ServiceRecord
from application.tracker import IncidentTracker
from domain.incident import NEXT_STATUSES, Source, Status
from tests.support.server import ROOT


class WriteStream:
    """Threads that report incidents and move them along the workflow until stopped (and now
    and then start a token session and revoke it, which the views list too)."""

    def __init__(self, tracker: IncidentTracker, service: ServiceRecord, threads: int = 3,
                 pause: float = 0.015) -> None:
        self._tracker = tracker
        self._service = service
        self._actor = service.actor
        self._pause = pause
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._write, args=(random.Random(n),), daemon=True)
            for n in range(threads)
        ]
        self.incident_ids: set[UUID] = set()
        self.revoked_sessions: set[UUID] = set()
        self.errors: list[BaseException] = []

    def __enter__(self) -> WriteStream:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _write(self, rng: random.Random) -> None:
        open_incidents: dict[UUID, Status] = {}
        try:
            while not self._stop.is_set():
                if rng.random() < 0.03:
                    session_id = self._tracker.start_session(self._service, uuid4().hex)
                    self._tracker.revoke_session(session_id, "signed out")
                    self.revoked_sessions.add(session_id)
                elif not open_incidents or rng.random() < 0.35:
                    source = rng.choice(list(Source))
                    written = self._tracker.report_incident(source, "disk full", self._actor)
                    self.incident_ids.add(written.state.id)
                    open_incidents[written.state.id] = Status.NEW
                else:
                    incident_id = rng.choice(list(open_incidents))
                    to = rng.choice(NEXT_STATUSES[open_incidents[incident_id]])
                    self._tracker.change_status(incident_id, to, self._actor)
                    if to is Status.CLOSED:
                        del open_incidents[incident_id]
                    else:
                        open_incidents[incident_id] = to
                time.sleep(self._pause)
        except BaseException as error:  # reported by the test, not lost in a thread
            self.errors.append(error)


class ProjectorProcess:
    """``python -m web.cli project`` on a database, with its output in a log file."""

    def __init__(self, database_url: str, workdir: Path, env: dict[str, str] | None = None):
        self.log_path = workdir / "projector.log"
        self._workdir = workdir
        self._env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEV_SIGNING_KEY_FILE": str(workdir / "dev-key.pem"),
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "text",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self) -> ProjectorProcess:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "project"], cwd=self._workdir, env=self._env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def wait_until_logged(self, text: str, timeout: float = 20.0) -> None:
        """Until this run of the process has logged ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text.encode() in self.log_path.read_bytes()[self._log_offset:]:
                return
            assert self.process is not None and self.process.poll() is None, self.log()
            time.sleep(0.005)
        raise AssertionError(f"the projector did not log {text!r}:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, as a process manager would send; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
