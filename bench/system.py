"""The machine side of a run: tools, scratch databases, server processes, CPU and memory.

Everything that starts something here also knows how to stop it; ``bench.run`` registers
every stop on an ``ExitStack`` so that servers and databases go away on errors and Ctrl-C too.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """Something the run needs is missing or broken; the message says what."""


# Tools ---------------------------------------------------------------------------------------


def _apt_install(package: str, say: Callable[[str], None]) -> bool:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    say(f"installing {package} with apt-get")
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode == 0:
        return True
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
    return subprocess.run(install, env=env, capture_output=True, check=False).returncode == 0


def ensure_command(name: str, package: str, say: Callable[[str], None]) -> str:
    """The path of ``name``; installs Debian's ``package`` first if it is missing and we can."""
    path = shutil.which(name)
    if path is None and _apt_install(package, say):
        path = shutil.which(name)
    if path is None:
        raise BenchError(f"{name} is missing: install it (Debian: apt-get install {package})")
    return path


def ensure_py_spy(say: Callable[[str], None]) -> str:
    path = BIN / "py-spy"
    if not path.exists():
        say("installing py-spy into the virtualenv")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return str(path)


def ensure_postgres(admin_url: str) -> None:
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return
    except psycopg.OperationalError:
        pass
    script = ROOT / "scripts" / "ensure-postgres"
    if script.exists():
        subprocess.run([str(script)], check=False)
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        raise BenchError(f"PostgreSQL is not reachable at {admin_url}: {error}") from None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Databases -----------------------------------------------------------------------------------


class ScratchDatabase:
    """A fresh PostgreSQL database, dropped (with FORCE) by ``drop()``."""

    def __init__(self, admin_url: str, prefix: str = "it_bench") -> None:
        self.admin_url = admin_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        base, _, _ = admin_url.rpartition("/")
        self.url = f"{base}/{self.name}"
        self._created = False

    def create(self) -> ScratchDatabase:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self._created = True
        return self

    def drop(self) -> None:
        if not self._created:
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.name)
                )
            )
        self._created = False

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True)


# Processes -----------------------------------------------------------------------------------


class ServerProcess:
    """A server in its own process group, so that stopping it stops all its workers too."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str], cwd: Path, log_path: Path
    ) -> None:
        self.argv = argv
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_until(self, url: str, ok: Callable[[bytes], bool], timeout: float = 60.0) -> None:
        """Poll ``url`` until it answers 200 with a body that ``ok`` accepts."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"server exited early; its log:\n{self.log()}")
            with contextlib.suppress(OSError, urllib.error.URLError), \
                    urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and ok(response.read()):
                    return
            time.sleep(0.2)
        raise BenchError(f"{url} did not become ready in {timeout:.0f} s; log:\n{self.log()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Workers of a dead master may linger in the group; end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-5000:]

    def roles(self) -> dict[int, str]:
        """Each process of the server: 'worker', 'projector' (Sanic's names) or 'server'."""
        roles = {}
        for pid in process_tree(self.pid):
            name = sanic_worker_name(pid) or ""
            if name.startswith("Sanic-Server-"):
                roles[pid] = "worker"
            elif "Projector" in name:
                roles[pid] = "projector"
            else:
                roles[pid] = "server"
        return roles

    def pids(self, role: str) -> list[int]:
        return sorted(pid for pid, r in self.roles().items() if r == role)


def run_command(
    argv: list[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run to completion, killing the command if we are interrupted meanwhile."""
    process = subprocess.Popen(
        argv, env=dict(env) if env is not None else None, cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(comm, ppid, utime+stime ticks) of a process, None if it is gone."""
    data = _read(f"/proc/{pid}/stat").decode(errors="replace")
    if not data:
        return None
    comm = data[data.index("(") + 1 : data.rindex(")")]
    fields = data[data.rindex(")") + 2 :].split()
    return comm, int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in all_pids():
        stat = _stat(pid)
        if stat is not None:
            children.setdefault(stat[1], []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def sanic_worker_name(pid: int) -> str | None:
    for entry in _read(f"/proc/{pid}/environ").split(b"\0"):
        if entry.startswith(b"SANIC_WORKER_NAME="):
            return entry.split(b"=", 1)[1].decode()
    return None


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, in kB."""
    values = {}
    for line in _read(f"/proc/{pid}/status").decode(errors="replace").splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values


def loadavg() -> str:
    return _read("/proc/loadavg").decode().strip()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


# CPU accounting ------------------------------------------------------------------------------


@dataclass
class CpuUse:
    """Where the machine's CPU went during one measurement, in cores (1.0 = one full core)."""

    seconds: float
    cores: int
    by_role: dict[str, float] = field(default_factory=dict)

    #: The roles that are the system under test and its load generator (not other programs).
    OURS = ("worker", "projector", "server", "postgres", "postgres-other", "client")

    @property
    def ours(self) -> float:
        """Cores used by the server, the database and the client together."""
        return sum(self.by_role.get(r, 0.0) for r in self.OURS)

    def describe(self) -> str:
        order = ["worker", "projector", "server", "postgres", "postgres-other", "client",
                 "bench", "other", "idle"]
        parts = [f"{r} {self.by_role[r]:.2f}" for r in order if self.by_role.get(r, 0) >= 0.005]
        return ", ".join(parts)


class CpuMeter:
    """Splits the machine's CPU time among roles, from /proc, while a measurement runs.

    A thread samples every process every ``interval`` seconds, so short-lived processes
    (PostgreSQL backends that pgbench opens and closes) are counted up to their last sample.
    Roles: ``roles()`` (taken at start) maps server pids to 'worker', 'projector', 'server';
    PostgreSQL backends of ``database`` are 'postgres', other PostgreSQL processes (WAL writer,
    checkpointer, other databases) 'postgres-other'; our own finished children (wrk, pgbench,
    py-spy) are 'client', from getrusage(RUSAGE_CHILDREN), which is exact. Busy time left over
    is 'other': other programs on this shared machine.
    """

    def __init__(
        self, database: str, roles: Callable[[], Mapping[int, str]], interval: float = 0.5
    ) -> None:
        self._database = database.encode()
        self._roles_source = roles
        self._interval = interval
        self._given: dict[int, str] = {}
        self._roles: dict[int, str] = {}
        self._first: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started = 0.0
        self._machine: tuple[int, int] = (0, 0)
        self._children = 0.0

    @staticmethod
    def _machine_ticks() -> tuple[int, int]:
        line = _read("/proc/stat").split(b"\n", 1)[0].split()[1:]
        ticks = [int(v) for v in line[:8]]
        busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
        return busy, sum(ticks)

    @staticmethod
    def _children_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def _classify(self, pid: int, comm: str, ppid: int, roles: Mapping[int, str]) -> str:
        if pid in roles:
            return roles[pid]
        if pid == os.getpid():
            return "bench"
        if ppid == os.getpid():
            return "child"  # counted exactly, via getrusage, once it has finished
        if comm == "postgres":
            cmdline = _read(f"/proc/{pid}/cmdline")
            return "postgres" if self._database in cmdline else "postgres-other"
        return "other"

    def _sample(self, initial: bool) -> None:
        with self._lock:
            for pid in all_pids():
                stat = _stat(pid)
                if stat is None:
                    continue
                comm, ppid, ticks = stat
                if pid not in self._roles:
                    self._roles[pid] = self._classify(pid, comm, ppid, self._given)
                    self._first[pid] = ticks if initial else 0
                self._last[pid] = ticks

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample(initial=False)

    def start(self) -> CpuMeter:
        self._given = dict(self._roles_source())
        self._started = time.monotonic()
        self._machine = self._machine_ticks()
        self._children = self._children_seconds()
        self._sample(initial=True)
        self._thread = threading.Thread(target=self._run, name="cpu-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> CpuUse:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample(initial=False)
        seconds = max(time.monotonic() - self._started, 1e-6)
        busy_end, total_end = self._machine_ticks()
        by_role: dict[str, float] = {}
        for pid, role in self._roles.items():
            spent = self._last[pid] - self._first[pid]
            if spent > 0 and role not in ("child", "other"):
                by_role[role] = by_role.get(role, 0.0) + spent / CLOCK_TICKS / seconds
        by_role["client"] = (self._children_seconds() - self._children) / seconds
        busy = (busy_end - self._machine[0]) / CLOCK_TICKS / seconds
        total = (total_end - self._machine[1]) / CLOCK_TICKS / seconds
        by_role["other"] = max(0.0, busy - sum(by_role.values()))
        by_role["idle"] = max(0.0, total - busy)
        return CpuUse(seconds, cpu_count(), by_role)
