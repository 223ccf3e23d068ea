"""The benchmark run: scenarios, limits, scale, replay, memory; then the table and raw output.

``.venv/bin/python -m bench`` (``--quick`` for a smoke run, ``--profile`` to add py-spy
profiles). See bench/README.md for what each step does and how to read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import limits, report
from bench.profiling import dump, start_record, summarise_file
from bench.system import (
    BIN,
    BenchError,
    CpuMeter,
    CpuUse,
    ScratchDatabase,
    ServerProcess,
    cpu_count,
    ensure_command,
    ensure_postgres,
    ensure_py_spy,
    free_port,
    loadavg,
    memory_kb,
    run_command,
)
from bench.wrk import WrkResult, build_script, run_wrk

RESULTS = Path(__file__).resolve().parent / "results"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Settings (web/settings.py) that, if set in the environment, change what is measured.
TUNABLES = ("THREADS", "DB_POOL_SIZE", "DB_LOCK_TIMEOUT", "READ_YOUR_WRITES_TIMEOUT",
            "REVOCATION_REFRESH", "REQUEST_MAX_SIZE", "LOG_FORMAT", "RATE_LIMIT_ANONYMOUS",
            "RATE_LIMIT_WRITES", "RATE_LIMIT_STORAGE")


@dataclass(frozen=True)
class Plan:
    mode: str
    seconds: float  # per measured scenario
    warmup: float
    seed_new: int  # seeded incidents left 'new' (list, list deep, get one)
    patch_pool: int  # seeded incidents left 'in_progress' for the patch scenario
    replay_events: int  # the event store holds at least this many before the replay
    scale_sizes: tuple[int, int]
    scale_seconds: float
    scale_warmup: float
    scale_rounds: int
    signing_seconds: float
    profile_seconds: float
    connections: int = 32
    threads: int = 2
    workers: int = 2


FULL = Plan("full", seconds=15, warmup=5, seed_new=8000, patch_pool=2000,
            replay_events=100_000, scale_sizes=(10_000, 1_000_000), scale_seconds=5,
            scale_warmup=2, scale_rounds=3,
            signing_seconds=3, profile_seconds=15)
QUICK = Plan("quick", seconds=3, warmup=1, seed_new=1500, patch_pool=500,
             replay_events=20_000, scale_sizes=(10_000, 100_000), scale_seconds=2,
             scale_warmup=1, scale_rounds=2,
             signing_seconds=1, profile_seconds=5)


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str  # bench/lua/<script>.lua
    path: str = ""
    body: str = ""
    ids: str = ""  # "new" (seeded new incidents) or "pool" (patch pool)
    auth: bool = True


def scenarios(service_id: str) -> list[Scenario]:
    return [
        Scenario("token issue", "post", "/api/v1/token/",
                 body=json.dumps({"service_id": service_id}), auth=False),
        Scenario("list", "get", "/api/v1/incidents/?status=new&page=1"),
        Scenario("list deep", "get", "/api/v1/incidents/?status=new&page=20"),
        Scenario("get one", "get", ids="new"),
        Scenario("create", "post", "/api/v1/incidents/", body=json.dumps(
            {"source": "monitoring", "description": "disk usage above 90% on db-7 (wrk)"})),
        Scenario("patch", "patch", ids="pool"),
    ]


@dataclass
class Measured:
    result: WrkResult
    cpu: CpuUse
    load_before: str
    load_after: str


@dataclass
class Run:
    plan: Plan
    started: dt.datetime
    host: str
    notes: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    scenarios: dict[str, Measured] = field(default_factory=dict)
    bare: Measured | None = None
    pgbench: limits.PgbenchResult | None = None
    signing: dict[str, Any] = field(default_factory=dict)
    scale: dict[str, dict[str, Any]] = field(default_factory=dict)
    replay: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, dict[str, int]] = field(default_factory=dict)
    seed: dict[str, Any] = field(default_factory=dict)
    pg: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def http_json(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {}),
    })
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    mem_kb = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem_kb = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
    return {"host": socket.gethostname(), "cpus": cpu_count(), "cpu_model": model,
            "memory_gb": round(mem_kb / 2**20, 1), "python": sys.version.split()[0],
            "commit": _commit()}


def _commit() -> str:
    """The checked-out commit, and whether product files differ from it (read-only git)."""
    root = str(Path(__file__).resolve().parents[1])
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        changed = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--",
             "application", "domain", "projections", "web"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return f"{head}{' + uncommitted product changes' if changed else ''}" if head else "?"
    return "?"


class Bench:
    def __init__(self, plan: Plan, profile: bool, stack: contextlib.ExitStack) -> None:
        self.plan = plan
        self.profile = profile
        self.stack = stack
        self.run = Run(plan, dt.datetime.now(dt.UTC), socket.gethostname())
        self.workdir = Path(tempfile.mkdtemp(prefix="it-bench-"))
        stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        self.server: ServerProcess | None = None
        self.url = ""
        self.service_id = ""
        self.db: ScratchDatabase | None = None
        self.files: dict[str, Path] = {}
        self._last_ready: Any = None

    # Set-up ----------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.wrk = ensure_command("wrk", "wrk", say)
        self.pgbench = ensure_command("pgbench", "postgresql-client", say)
        self.py_spy = ensure_py_spy(say) if self.profile else ""
        ensure_postgres(ADMIN_URL)
        self.db = ScratchDatabase(ADMIN_URL).create()
        self.stack.callback(self._drop_database)
        say(f"database {self.db.name}, work dir {self.workdir}")
        self.run.pg = limits.pg_settings(self.db)
        self.run.machine = machine()
        tuned = {k: os.environ[k] for k in TUNABLES if k in os.environ}
        if tuned:
            self.run.notes.append(f"settings from the environment: {tuned}")

    def _drop_database(self) -> None:
        if self.db is not None:
            say(f"dropping database {self.db.name}")
            self.db.drop()

    def server_env(self) -> dict[str, str]:
        assert self.db is not None
        return {
            **os.environ,
            "DATABASE_URL": self.db.url,
            "HOST": "127.0.0.1",
            "WORKERS": str(self.plan.workers),
            "ACCESS_LOG": "false",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
            "DEV_SIGNING_KEY_FILE": str(self.workdir / "dev-signing-key.pem"),
            "PROMETHEUS_MULTIPROC_DIR": str(self.workdir / "metrics"),
            # The run measures capacity, not the rate limiter (web/ratelimit.py): limits are
            # off unless the environment sets them.
            "RATE_LIMIT_ANONYMOUS": os.environ.get("RATE_LIMIT_ANONYMOUS", "off"),
            "RATE_LIMIT_WRITES": os.environ.get("RATE_LIMIT_WRITES", "off"),
        }

    def start_server(self) -> None:
        port = free_port()
        (self.workdir / "metrics").mkdir(exist_ok=True)
        self.server = ServerProcess(
            [str(BIN / "incident-tracker"), "serve", "--workers", str(self.plan.workers)],
            env={**self.server_env(), "PORT": str(port)}, cwd=self.workdir,
            log_path=self.workdir / "server.log",
        )
        self.stack.callback(self.stop_server)
        self.server.start()
        self.url = f"http://127.0.0.1:{port}"
        self.server.wait_until(self.url + "/ready", lambda _: True, timeout=90)
        roles = self.server.roles()
        workers = [p for p, r in roles.items() if r == "worker"]
        if len(workers) != self.plan.workers:
            raise BenchError(f"expected {self.plan.workers} workers, found {roles}")
        say(f"service up at {self.url}: {roles}")

    def stop_server(self) -> None:
        if self.server is not None and self.server.process is not None:
            if self.server.process.poll() is None:
                say("stopping the service")
            self.server.stop()
            log = self.server.log()
            if "Traceback" in log or "ERROR" in log:
                self.run.raw.append(f"== service log (tail) ==\n{log}")

    def meter(self) -> CpuMeter:
        assert self.db is not None
        server = self.server
        return CpuMeter(self.db.name, lambda: server.roles() if server else {})

    def wait_for_projection(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                _, body = http_json(self.url + "/ready")
                self._last_ready = body
                projection = (body or {}).get("projection") or {}
                if projection.get("lag") == 0:
                    return
            time.sleep(0.3)
        raise BenchError(f"the projector did not catch up in {timeout:.0f} s; /ready said "
                         f"{self._last_ready}")

    def seed(self) -> None:
        from bench.seed import open_app, register_service, seed_incidents

        assert self.db is not None
        tracker = open_app(self.db.url, self.workdir)
        try:
            service = register_service(tracker)
            self.service_id = str(service.id)
            # The patch pool (plan 1: left in_progress) is spread evenly over creation order.
            total = self.plan.seed_new + self.plan.patch_pool
            plans = [0] * total
            for j in range(self.plan.patch_pool):
                plans[j * total // self.plan.patch_pool] = 1
            seeded, events, seconds = seed_incidents(tracker, service.actor, plans)
        finally:
            tracker.close()
        new = [s for s in seeded if s.status == "new"]
        pool = [s for s in seeded if s.status == "in_progress"]
        self.files["new"] = self.workdir / "ids-new.txt"
        self.files["new"].write_text("".join(f"{s.id}\n" for s in new[:2000]))
        self.files["pool"] = self.workdir / "ids-pool.txt"
        self.files["pool"].write_text("".join(f"{s.id} {s.status} {s.version}\n" for s in pool))
        self.wait_for_projection()
        self.run.seed = {"incidents": len(seeded), "new": len(new), "patch_pool": len(pool),
                         "events": events, "seconds": round(seconds, 2),
                         "events_per_second": round(events / seconds)}
        say(f"seeded {len(seeded)} incidents ({events} events) in {seconds:.1f} s")

    def token(self) -> str:
        status, body = http_json(self.url + "/api/v1/token/", "POST",
                                 {"service_id": self.service_id})
        if status != 200:
            raise BenchError(f"could not get a token: {status} {body}")
        return str(body["access_token"])

    # Measurements ----------------------------------------------------------------------------

    def drive(self, url: str, script: Path, env: dict[str, str], seconds: float,
              connections: int | None = None, warmup: float | None = None,
              on_start: Callable[[], None] | None = None) -> Measured:
        connections = connections or self.plan.connections
        threads = min(self.plan.threads, connections)
        warmup = self.plan.warmup if warmup is None else warmup
        if warmup:
            run_wrk(self.wrk, url, script, env=env, seconds=warmup, connections=connections,
                    threads=threads)
        load_before = loadavg()
        meter = self.meter().start()
        try:
            if on_start:
                on_start()
            result = run_wrk(self.wrk, url, script, env=env, seconds=seconds,
                             connections=connections, threads=threads)
        finally:
            cpu = meter.stop()
        self.run.raw.append(f"== {url} ({connections} connections) ==\n{result.raw}")
        return Measured(result, cpu, load_before, loadavg())

    def scenario_env(self, scenario: Scenario) -> dict[str, str]:
        env = {**os.environ, "BENCH_THREADS": str(self.plan.threads)}
        if scenario.auth:
            env["BENCH_TOKEN"] = self.token()
        if scenario.path:
            env["BENCH_PATH"] = scenario.path
        if scenario.body:
            env["BENCH_BODY"] = scenario.body
        if scenario.ids:
            env["BENCH_IDS"] = str(self.files[scenario.ids])
        return env

    def run_scenarios(self) -> None:
        for scenario in scenarios(self.service_id):
            say(f"scenario: {scenario.name}")
            script = build_script(scenario.script, self.workdir)
            env = self.scenario_env(scenario)
            self.run.scenarios[scenario.name] = self.drive(
                self.url + (scenario.path or "/"), script, env, self.plan.seconds
            )
            result = self.run.scenarios[scenario.name].result
            say(f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms, statuses {result.statuses}")
            self.wait_for_projection()

    def run_limits(self) -> None:
        drive = limits.Drive(self.wrk, self.plan.connections, self.plan.threads,
                             self.plan.seconds, self.plan.warmup)
        say("limit: bare Sanic JSON")
        load_before = loadavg()
        db_name = self.db.name if self.db else ""
        result, cpu = limits.bare_sanic(
            drive, self.plan.workers, self.workdir,
            lambda bare: CpuMeter(db_name, bare.roles),
        )
        self.run.bare = Measured(result, cpu, load_before, loadavg())
        self.run.raw.append(f"== bare Sanic ==\n{result.raw}")
        say(f"  {result.rps:,.0f} req/s")
        say("limit: pgbench inserts")
        assert self.db is not None
        self.run.pgbench = limits.pgbench_inserts(self.pgbench, self.db, drive, self.meter())
        self.run.raw.append(f"== pgbench ==\n{self.run.pgbench.raw}")
        say(f"  {self.run.pgbench.tps:,.0f} tps")
        say("limit: RSA-2048 signing")
        self.run.signing = limits.signing_rates(self.plan.signing_seconds, cpu_count())
        self.run.raw.append(f"== signing ==\n{json.dumps(self.run.signing, indent=2)}")
        say(f"  {self.run.signing}")

    def run_profiles(self) -> None:
        assert self.server is not None
        out_dir = RESULTS / f"{report.stem(self.run)}-profiles"
        out_dir.mkdir(parents=True, exist_ok=True)
        wanted = {"token issue": "token", "list": "list", "create": "create"}
        by_name = {s.name: s for s in scenarios(self.service_id)}
        seconds = self.plan.profile_seconds
        for name, slug in wanted.items():
            scenario = by_name[name]
            worker = self.server.pids("worker")[0]
            targets = {"worker": worker}
            if name == "create":
                targets["projector"] = self.server.pids("projector")[0]
            say(f"profiling {name}: py-spy on {targets}")
            recorders: list[Any] = []
            dumps: dict[str, str] = {}

            def dump_later(pid: int = worker, dumps: dict[str, str] = dumps) -> None:
                time.sleep(min(3.0, seconds / 3))  # one snapshot of every thread, under load
                dumps["worker"] = dump(self.py_spy, pid)

            dumper = threading.Thread(target=dump_later, daemon=True)

            def start(targets: dict[str, int] = targets, slug: str = slug,
                      recorders: list[Any] = recorders, dumper: Any = dumper) -> None:
                for role, pid in targets.items():
                    process = start_record(self.py_spy, pid, seconds - 2,
                                           out_dir / f"{slug}-{role}.raw")
                    self.stack.callback(_kill, process)
                    recorders.append(process)
                dumper.start()

            measured = self.drive(self.url + (scenario.path or "/"),
                                  build_script(scenario.script, self.workdir),
                                  self.scenario_env(scenario), seconds, on_start=start)
            dumper.join(timeout=60)
            for process in recorders:
                process.wait(timeout=60)
            (out_dir / f"{slug}-worker-dump.txt").write_text(dumps.get("worker", ""))
            summary_text = [f"# {name}: {measured.result.rps:,.0f} req/s under py-spy "
                            f"(rate 100 Hz, all threads, waiting samples set apart), "
                            f"CPU: {measured.cpu.describe()}\n"]
            for role in targets:
                raw = out_dir / f"{slug}-{role}.raw"
                if raw.exists():
                    summary_text.append(f"\n## {role} (pid {targets[role]})\n")
                    summary_text.append(summarise_file(raw).render())
            text = "".join(summary_text)
            (out_dir / f"{slug}-summary.txt").write_text(text)
            self.run.profiles[name] = str(out_dir / f"{slug}-summary.txt")
            self.wait_for_projection()

    def run_scale(self) -> None:
        from bench.seed import ScaleTables

        assert self.db is not None
        script = build_script("get", self.workdir)
        sizes = self.plan.scale_sizes
        say(f"scale: filling read models of {', '.join(f'{n:,}' for n in sizes)} incidents")
        tables = ScaleTables(self.db.connect)
        seconds = tables.fill(sizes)
        say(f"  filled in {seconds:.0f} s; {self.plan.scale_rounds} interleaved rounds")
        runs: dict[tuple[int, int, int], list[Measured]] = {}
        for round_ in range(self.plan.scale_rounds):
            # Alternate the order, so that a drift in load does not favour one size.
            for size in sizes if round_ % 2 == 0 else tuple(reversed(sizes)):
                tables.activate(size)
                self._check_list_reads()
                for page in (1, 20):
                    path = f"/api/v1/incidents/?status=in_progress&page={page}"
                    env = {**os.environ, "BENCH_TOKEN": self.token(), "BENCH_PATH": path}
                    for connections in (self.plan.connections, 1):
                        measured = self.drive(
                            self.url + path, script, env, self.plan.scale_seconds,
                            connections=connections,
                            warmup=self.plan.scale_warmup if connections > 1 else 1,
                        )
                        runs.setdefault((size, page, connections), []).append(measured)
                say(f"  round {round_ + 1}, {size:,}: p50 page 1 / page 20 at "
                    f"{self.plan.connections} conns "
                    f"{runs[(size, 1, self.plan.connections)][-1].result.p50_ms:.1f} / "
                    f"{runs[(size, 20, self.plan.connections)][-1].result.p50_ms:.1f} ms, "
                    f"at 1 conn {runs[(size, 1, 1)][-1].result.p50_ms:.2f} / "
                    f"{runs[(size, 20, 1)][-1].result.p50_ms:.2f} ms")
        tables.activate(sizes[0])
        tables.drop_inactive()
        for size in sizes:
            label = f"{size:,}"
            self.run.scale[label] = {"fill_seconds": round(seconds, 1)}
            for page in (1, 20):
                entry: dict[str, Any] = {"rounds": {}}
                for connections, key in ((self.plan.connections, "32 connections"),
                                         (1, "1 connection")):
                    rounds = runs[(size, page, connections)]
                    ordered = sorted(rounds, key=lambda m: m.result.p50_ms)
                    entry[key] = ordered[len(ordered) // 2]  # the median round, by p50
                    entry["rounds"][key] = [round(m.result.p50_ms, 2) for m in rounds]
                self.run.scale[label][f"page {page}"] = entry

    def _check_list_reads(self) -> None:
        """The service reads the table just renamed into place (not a stale plan's table)."""
        assert self.db is not None
        with self.db.connect() as conn:
            expected = conn.execute(
                "SELECT id FROM incident_view WHERE status = 'in_progress' "
                "ORDER BY created_at, id LIMIT 1"
            ).fetchone()[0]
        status, body = http_json(self.url + "/api/v1/incidents/?status=in_progress&page=1",
                                 headers={"Authorization": f"Bearer {self.token()}"})
        first = (body or {}).get("items", [{}])[0].get("id") if status == 200 else None
        if first != str(expected):
            raise BenchError(f"the service does not read the swapped-in list: {status} {first}")

    def read_memory(self) -> None:
        assert self.server is not None
        for pid, role in sorted(self.server.roles().items()):
            values = memory_kb(pid)
            if values:
                self.run.memory[f"{role} {pid}"] = values

    def run_replay(self) -> None:
        from bench.seed import clear_read_model, open_app, register_service, top_up_events

        assert self.db is not None
        with self.db.connect() as conn:
            clear_read_model(conn)
        tracker = open_app(self.db.url, self.workdir)
        try:
            actor = register_service(tracker, "bench-replay").actor
            say(f"replay: topping the event store up to {self.plan.replay_events:,} events")
            before, added, seconds = top_up_events(tracker, actor, self.plan.replay_events)
        finally:
            tracker.close()
        say(f"  added {added:,} events in {seconds:.1f} s; running incident-tracker replay")
        started = time.perf_counter()
        done = run_command([str(BIN / "incident-tracker"), "replay"],
                           env={**self.server_env(), "COLUMNS": "100"}, cwd=self.workdir,
                           timeout=1800)
        wall = time.perf_counter() - started
        output = done.stdout + done.stderr
        self.run.raw.append(f"== incident-tracker replay ==\n{output}")
        match = re.search(r"replayed (\d+) events in ([\d.]+) s \(([\d,]+) events/s\)", output)
        if done.returncode != 0 or match is None:
            raise BenchError(f"replay failed:\n{output}")
        with self.db.connect() as conn:
            listed = conn.execute("SELECT count(*) FROM incident_view").fetchone()[0]
            reported = conn.execute(
                "SELECT count(*) FROM incidenttracker_events WHERE topic LIKE %s",
                ("%IncidentReported",),
            ).fetchone()[0]
        self.run.replay = {
            "events": int(match[1]), "seconds": float(match[2]),
            "events_per_second": int(match[3].replace(",", "")),
            "wall_seconds_with_startup": round(wall, 2),
            "events_before_top_up": before, "events_added": added,
            "top_up_seconds": round(seconds, 2),
            "top_up_events_per_second": round(added / seconds) if seconds else 0,
            "incidents_listed": listed, "incidents_in_store": reported,
        }
        if listed != reported:
            self.run.notes.append(
                f"replay check FAILED: {listed} incidents listed, {reported} in the store"
            )
        say(f"  {self.run.replay['events_per_second']:,} events/s")

    # The whole run ---------------------------------------------------------------------------

    def execute(self) -> Run:
        self.prepare()
        self.run.notes.append(f"load average at start: {loadavg()}")
        self.start_server()
        self.seed()
        self.run_scenarios()
        self.run_limits()
        if self.profile:
            self.run_profiles()
        self.run_scale()
        self.read_memory()
        self.stop_server()
        self.run_replay()
        self.run.notes.append(f"load average at end: {loadavg()}")
        return self.run


def _kill(process: Any) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@contextlib.contextmanager
def _signals_as_exit() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C does, so every clean-up runs."""

    def leave(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, leave) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the incident API against this machine's limits (bench/README.md).",
    )
    parser.add_argument("--quick", action="store_true",
                        help="a few seconds per scenario and small seeds (smoke test)")
    parser.add_argument("--profile", action="store_true",
                        help="also record py-spy profiles of list, create and token issue")
    parser.add_argument("--seconds", type=float, help="override the seconds per scenario")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.seconds:
        plan = replace(plan, seconds=args.seconds)
    status = 0
    with _signals_as_exit():
        stack = contextlib.ExitStack()
        bench = None
        try:
            bench = Bench(plan, args.profile, stack)
            bench.execute()
        except KeyboardInterrupt:
            say("interrupted; cleaning up")
            return 130
        except Exception as error:  # report what was measured before it broke
            say(f"failed: {type(error).__name__}: {error}")
            if bench is None:
                return 1
            if bench.server is not None:
                say(f"service log (tail):\n{bench.server.log()[-3000:]}")
            bench.run.notes.append(
                f"INCOMPLETE RUN: stopped by {type(error).__name__}: {str(error)[:300]}"
            )
            status = 1
        finally:
            # A second Ctrl-C must not cut the clean-up short.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                stack.close()
            finally:
                signal.signal(signal.SIGINT, previous)
    run = bench.run
    text = report.render(run)
    print(text)
    if not args.no_save and (run.scenarios or status == 0):
        paths = report.save(run, text, RESULTS)
        say("saved " + ", ".join(str(p) for p in paths))
    return status
