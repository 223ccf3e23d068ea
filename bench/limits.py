"""The machine's limits, measured in the same run as the scenarios they bound.

- bare Sanic: ``bench/bare_app.py`` with the same worker count, driven like the list scenario.
- pgbench: one incident-like INSERT per transaction (``bench/pgbench/insert.sql``) on a scratch
  table in the bench database, with the same number of clients as wrk has connections.
- RSA-2048 signing: ``bench/signing.py`` in a child process (one process, then all cores).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.system import (
    BIN,
    ROOT,
    BenchError,
    CpuMeter,
    CpuUse,
    ScratchDatabase,
    ServerProcess,
    free_port,
    run_command,
)
from bench.wrk import WrkResult, build_script, run_wrk

PGBENCH_SCRIPT = Path(__file__).resolve().parent / "pgbench" / "insert.sql"

_SCRATCH_TABLE = [
    "DROP TABLE IF EXISTS bench_incident",
    """CREATE TABLE bench_incident (
        id uuid PRIMARY KEY,
        status text NOT NULL,
        source text NOT NULL,
        description text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        version integer NOT NULL)""",
    "CREATE INDEX bench_incident_by_created ON bench_incident (created_at, id)",
    "CREATE INDEX bench_incident_by_status ON bench_incident (status, created_at, id)",
]


@dataclass
class Drive:
    """How wrk drives every HTTP measurement of a run."""

    wrk: str
    connections: int
    threads: int
    seconds: float
    warmup: float


def bare_sanic(
    drive: Drive, workers: int, workdir: Path, meter: Callable[[ServerProcess], CpuMeter],
) -> tuple[WrkResult, CpuUse]:
    port = free_port()
    server = ServerProcess(
        [str(BIN / "sanic"), "bench.bare_app:app", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-logs", "--no-motd"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT, log_path=workdir / "bare-sanic.log",
    )
    try:
        server.start()
        url = f"http://127.0.0.1:{port}/"
        server.wait_until(url, lambda body: b'"items"' in body, timeout=60)
        script = build_script("get", workdir)
        env = {"BENCH_PATH": "/"}
        if drive.warmup:
            run_wrk(drive.wrk, url, script, env=env, seconds=drive.warmup,
                    connections=drive.connections, threads=drive.threads)
        cpu = meter(server).start()
        try:
            result = run_wrk(drive.wrk, url, script, env=env, seconds=drive.seconds,
                             connections=drive.connections, threads=drive.threads)
        finally:
            use = cpu.stop()
        return result, use
    finally:
        server.stop()


@dataclass
class PgbenchResult:
    tps: float
    latency_ms: float
    transactions: int
    failed: int
    raw: str
    cpu: CpuUse | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"tps": round(self.tps, 1), "latency_avg_ms": self.latency_ms,
                "transactions": self.transactions, "failed": self.failed}


def _pgbench_run(
    pgbench: str, db: ScratchDatabase, clients: int, threads: int, seconds: float
) -> PgbenchResult:
    argv = [
        pgbench, "--no-vacuum", "--protocol=prepared", f"--client={clients}",
        f"--jobs={threads}", f"--time={max(1, round(seconds))}", f"--file={PGBENCH_SCRIPT}",
        db.url,
    ]
    done = run_command(argv, timeout=seconds + 120)
    raw = f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}"
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    if done.returncode != 0 or tps is None:
        raise BenchError(f"pgbench failed:\n{raw}")
    latency = re.search(r"^latency average = ([\d.]+) ms", done.stdout, re.MULTILINE)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return PgbenchResult(
        tps=float(tps[1]),
        latency_ms=float(latency[1]) if latency else float("nan"),
        transactions=int(processed[1]) if processed else 0,
        failed=int(failed[1]) if failed else 0,
        raw=raw,
    )


def pgbench_inserts(
    pgbench: str, db: ScratchDatabase, drive: Drive, meter: CpuMeter
) -> PgbenchResult:
    with db.connect() as conn:
        for statement in _SCRATCH_TABLE:
            conn.execute(statement)
    try:
        if drive.warmup:
            _pgbench_run(pgbench, db, drive.connections, drive.threads, drive.warmup)
        meter.start()
        try:
            result = _pgbench_run(pgbench, db, drive.connections, drive.threads, drive.seconds)
        finally:
            use = meter.stop()
        result.cpu = use
        return result
    finally:
        with db.connect() as conn:
            conn.execute("DROP TABLE IF EXISTS bench_incident")


def signing_rates(seconds: float, procs: int) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bench.signing", "--seconds", str(seconds),
            "--procs", str(procs)]
    done = run_command(argv, cwd=ROOT, timeout=seconds * 8 + 120)
    if done.returncode != 0:
        raise BenchError(f"bench.signing failed:\n{done.stdout}{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def pg_settings(db: ScratchDatabase) -> dict[str, str]:
    names = ("server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections",
             "wal_level", "commit_delay")
    with db.connect() as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(names),)
        ).fetchall()
    return {name: setting for name, setting in rows}
