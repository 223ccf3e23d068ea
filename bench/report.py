"""The table a run prints, and the files it leaves in bench/results/."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run import Measured, Run

SIGNATURES_PER_TOKEN_REQUEST = 2  # an access token and a refresh token
MB = 1024  # kB per MB (VmHWM is in kB)


def stem(run: Run) -> str:
    suffix = "" if run.plan.mode == "full" else f"-{run.plan.mode}"
    return f"{run.started:%Y-%m-%d}-{run.host}{suffix}"


def _good_per_second(name: str, m: Measured) -> float:
    """Requests that did what the scenario is about: 2xx, or for patch real transitions."""
    r = m.result
    if name == "patch":
        return r.extra.get("transitions", 0) / r.seconds if r.seconds else 0.0
    return r.ok / r.seconds if r.seconds else 0.0


@dataclass(frozen=True)
class Limit:
    label: str
    per_second: float  # wall clock, as measured
    per_cpu_second: float  # per core-second of CPU that the measurement used (see README)


def _per_cpu(value: float, cores: float) -> float:
    return value / cores if cores > 0 else math.nan


def _good_per_cpu_second(name: str, m: Measured) -> float:
    return _per_cpu(_good_per_second(name, m), m.cpu.ours)


def _limits(run: Run) -> dict[str, Limit]:
    """Each scenario's limit."""
    out: dict[str, Limit] = {}
    if run.bare is not None:
        bare = Limit("bare Sanic", run.bare.result.rps,
                     _per_cpu(run.bare.result.rps, run.bare.cpu.ours))
        out.update({"list": bare, "list deep": bare, "get one": bare})
    if run.pgbench is not None:
        cores = run.pgbench.cpu.ours if run.pgbench.cpu else 0.0
        tps = Limit("pgbench tps", run.pgbench.tps, _per_cpu(run.pgbench.tps, cores))
        out.update({"create": tps, "patch": tps})
    jose = run.signing.get("jose")
    if jose:
        out["token issue"] = Limit(
            "1-proc sign/2", jose["one_process"] / SIGNATURES_PER_TOKEN_REQUEST,
            jose["one_process_per_cpu_second"] / SIGNATURES_PER_TOKEN_REQUEST,
        )
    return out


def _ratio(value: float, limit: float) -> float:
    return value / limit if limit else math.nan


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "NO")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    def line(cells: list[str]) -> str:
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=False)))
    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _scale_p50(run: Run, page: str, key: str = "32 connections") -> tuple[float, float]:
    sizes = list(run.scale)
    if len(sizes) < 2:
        return math.nan, math.nan
    small = run.scale[sizes[0]].get(page, {}).get(key)
    large = run.scale[sizes[-1]].get(page, {}).get(key)
    if small is None or large is None:
        return math.nan, math.nan
    return small.result.p50_ms, large.result.p50_ms


def _scale_cost_ratio(run: Run, page: str) -> float:
    """CPU per request at the largest size / at the smallest, at full load."""
    sizes = list(run.scale)
    if len(sizes) < 2:
        return math.nan
    small = run.scale[sizes[0]].get(page, {}).get("32 connections")
    large = run.scale[sizes[-1]].get(page, {}).get("32 connections")
    if small is None or large is None:
        return math.nan
    per_cpu_small = _per_cpu(small.result.rps, small.cpu.ours)
    per_cpu_large = _per_cpu(large.result.rps, large.cpu.ours)
    return per_cpu_small / per_cpu_large if per_cpu_large else math.nan


def targets(run: Run) -> list[list[str]]:
    rows: list[list[str]] = []
    lim = _limits(run)

    def ratios(name: str) -> tuple[float, float]:
        m = run.scenarios.get(name)
        if m is None or name not in lim:
            return math.nan, math.nan
        return (_ratio(_good_per_second(name, m), lim[name].per_second),
                _ratio(_good_per_cpu_second(name, m), lim[name].per_cpu_second))

    def add(check: str, measured: str, cpu_normalised: str, target: str, ok: bool | None) -> None:
        if measured.startswith("nan"):
            measured, cpu_normalised, ok = "not measured", "", None
        rows.append([check, measured, cpu_normalised, target, _mark(ok)])

    def p99(name: str) -> float:
        return run.scenarios[name].result.p99_ms if name in run.scenarios else math.nan

    r, c = ratios("list")
    add("list / bare Sanic", f"{r:.3f}", f"{c:.3f}", ">= 0.35", r >= 0.35)
    add("list p99", f"{p99('list'):.1f} ms", "", "< 50 ms", p99("list") < 50)
    r, c = ratios("create")
    add("create / pgbench tps", f"{r:.3f}", f"{c:.3f}", ">= 0.20", r >= 0.20)
    add("create p99", f"{p99('create'):.1f} ms", "", "< 100 ms", p99("create") < 100)
    r, c = ratios("patch")
    add("patch (valid transitions/s) / pgbench tps", f"{r:.3f}", f"{c:.3f}", ">= 0.15",
        r >= 0.15)
    r, c = ratios("token issue")
    add("token issue / (1-process signing rate / 2)", f"{r:.3f}", f"{c:.3f}", ">= 0.6",
        r >= 0.6)
    jose = run.signing.get("jose")
    if jose and "token issue" in run.scenarios:
        r_all = _ratio(_good_per_second("token issue", run.scenarios["token issue"]),
                       jose["all_processes"] / SIGNATURES_PER_TOKEN_REQUEST)
        add(f"  same, vs all-{run.signing.get('procs')}-processes signing rate / 2",
            f"{r_all:.3f}", "", "(stricter)", r_all >= 0.6)
    eps = run.replay.get("events_per_second", math.nan)
    add("replay events/s", f"{eps:,.0f} ({run.replay.get('events', 0):,} events)", "",
        ">= 20,000", eps >= 20_000)
    sizes = list(run.scale)
    for page in ("page 1", "page 20"):
        for key in ("32 connections", "1 connection"):
            small, large = _scale_p50(run, page, key)
            ratio = large / small if small else math.nan
            label = (f"list p50 {sizes[-1] if sizes else '?'} / {sizes[0] if sizes else '?'}, "
                     f"{page}, {key}")
            # Under load p50 is ~connections / throughput, so per CPU it compares CPU cost.
            cost = _scale_cost_ratio(run, page) if key == "32 connections" else math.nan
            add(label, f"{ratio:.2f} ({large:.2f} / {small:.2f} ms)",
                "" if math.isnan(cost) else f"{cost:.2f}", "<= 1.3", ratio <= 1.3)
    workers = {k: v for k, v in run.memory.items() if k.startswith("worker")}
    if workers:
        peak = max(v.get("VmHWM", 0) for v in workers.values()) / MB
        add("peak RSS per worker (VmHWM, max)", f"{peak:.0f} MB", "", "<= 120 MB", peak <= 120)
    return rows


def render(run: Run) -> str:
    p = run.plan
    m = run.machine
    out = [
        f"Incident Tracker benchmark - {run.started:%Y-%m-%d %H:%M} UTC - {m.get('host')} "
        f"({m.get('cpus')} CPUs, {m.get('cpu_model')}, {m.get('memory_gb')} GB; "
        f"Python {m.get('python')}; PostgreSQL {run.pg.get('server_version')}, "
        f"synchronous_commit={run.pg.get('synchronous_commit')}, fsync={run.pg.get('fsync')})",
        f"code: commit {m.get('commit', '?')}",
        f"mode {p.mode}: service with {p.workers} workers + projector; wrk {p.threads} threads, "
        f"{p.connections} connections, {p.seconds:g} s per scenario after {p.warmup:g} s "
        f"warm-up; client, server and database share the machine",
        *run.notes,
        "",
        "SCENARIOS",
    ]
    lim = _limits(run)
    rows = []
    for name, meas in run.scenarios.items():
        r = meas.result
        good = _good_per_second(name, meas)
        limit = lim.get(name)
        other = r.non_2xx - r.count(409)
        per_cpu = _good_per_cpu_second(name, meas)
        rows.append([
            name, f"{r.rps:,.0f}", f"{good:,.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}",
            str(r.count(409)), str(other), str(r.socket_errors),
            f"{limit.label} {limit.per_second:,.0f}" if limit else "-",
            f"{_ratio(good, limit.per_second):.3f}" if limit else "-",
            f"{per_cpu:,.0f}",
            f"{_ratio(per_cpu, limit.per_cpu_second):.3f}" if limit else "-",
        ])
    out += _table(["scenario", "req/s", "good/s", "p50 ms", "p99 ms", "409", "other non-2xx",
                   "sock err", "limit /s", "ratio", "good/CPU-s", "ratio/CPU"], rows)
    for name, meas in run.scenarios.items():
        r = meas.result
        if r.non_2xx > 0.01 * max(1, r.requests):
            statuses = ", ".join(f"{s}: {n:,}" for s, n in sorted(r.statuses.items()))
            out.append(f"WARNING {name}: {r.non_2xx:,} of {r.requests:,} responses were not 2xx "
                       f"({statuses}); good/s counts only the successful ones")
    if "patch" in run.scenarios:
        extra = run.scenarios["patch"].result.extra
        out.append(f"patch: {extra.get('transitions', 0):,} valid transitions, "
                   f"{extra.get('noops', 0):,} no-op 200s (status already set), "
                   f"{run.scenarios['patch'].result.count(409):,} 409s; good/s counts "
                   f"transitions only. Other scenarios: good/s = 2xx/s.")
    out += ["", "LIMITS (same run)"]
    if run.bare is not None:
        r = run.bare.result
        out.append(f"bare Sanic JSON, 50-item page, {p.workers} workers: {r.rps:,.0f} req/s, "
                   f"p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, non-2xx {r.non_2xx}; "
                   f"{_per_cpu(r.rps, run.bare.cpu.ours):,.0f} per CPU-s")
    if run.pgbench is not None:
        pg = run.pgbench
        out.append(f"pgbench, 1 incident-like INSERT per transaction, {p.connections} clients, "
                   f"prepared: {pg.tps:,.0f} tps, latency avg {pg.latency_ms:.2f} ms, "
                   f"failed {pg.failed}; "
                   f"{_per_cpu(pg.tps, pg.cpu.ours if pg.cpu else 0):,.0f} per CPU-s")
    for kind in ("jose", "cryptography"):
        s = run.signing.get(kind)
        if s:
            out.append(
                f"RSA-2048 RS256 signing, {kind}: one process {s['one_process']:,.0f}/s "
                f"({s['one_process_per_cpu_second']:,.0f} per CPU-s); "
                f"{run.signing['procs']} processes at once {s['all_processes']:,.0f}/s "
                f"({s['per_core_when_all_busy']:,.0f}/s per core; "
                f"{s['per_cpu_second_when_all_busy']:,.0f} per CPU-s)"
            )
    if "token issue" in lim:
        jose = run.signing["jose"]
        out.append(
            f"token-issue limit = python-jose signing rate / {SIGNATURES_PER_TOKEN_REQUEST} "
            f"signatures per request: {lim['token issue'].per_second:,.0f}/s for ONE process "
            f"(used for the ratio); {jose['all_processes'] / 2:,.0f}/s with all "
            f"{run.signing['procs']} cores signing and nothing else running"
        )
    out += ["", "TARGETS (issue 6)"]
    out += _table(["check", "measured", "per-CPU ratio", "target", "met"], targets(run))
    out.append("'met' judges the wall-clock figure; the per-CPU ratio divides each side by the "
               "CPU it used (server + database + client), which cancels most of the noise "
               "from other programs on a shared machine (bench/README.md).")
    if run.scale:
        out += ["", "LIST AT SCALE (read models filled directly in SQL, not through the app; "
                "status=in_progress is a quarter of the rows; page_size 50)"]
        rows = []
        for size, data in run.scale.items():
            for page in ("page 1", "page 20"):
                loaded = data.get(page, {}).get("32 connections")
                single = data.get(page, {}).get("1 connection")
                if loaded is None or single is None:
                    continue
                rounds = data[page].get("rounds", {})
                rows.append([size, page, f"{loaded.result.rps:,.0f}",
                             f"{_per_cpu(loaded.result.rps, loaded.cpu.ours):,.0f}",
                             f"{loaded.result.p50_ms:.2f}", f"{loaded.result.p99_ms:.2f}",
                             f"{single.result.p50_ms:.2f}", f"{single.result.p99_ms:.2f}",
                             " / ".join(f"{v:.1f}" for v in rounds.get("32 connections", [])),
                             " / ".join(f"{v:.2f}" for v in rounds.get("1 connection", []))])
        out += _table(["incidents", "page", f"req/s @{p.connections}", "req/CPU-s",
                       f"p50 @{p.connections}", f"p99 @{p.connections}", "p50 @1", "p99 @1",
                       f"p50 @{p.connections} by round", "p50 @1 by round"], rows)
        out.append(f"each size measured in {p.scale_rounds} interleaved round(s) of "
                   f"{p.scale_seconds:g} s per page and concurrency (the read models are "
                   "swapped by renaming tables, not refilled); the columns before the rounds "
                   "are the median round (by p50)")
    if run.replay:
        rp = run.replay
        out += ["", "REPLAY",
                f"incident-tracker replay: {rp['events']:,} events in {rp['seconds']:.2f} s = "
                f"{rp['events_per_second']:,} events/s ({rp['wall_seconds_with_startup']:.1f} s "
                f"wall clock with process start-up); read model check: "
                f"{rp['incidents_listed']:,} listed / {rp['incidents_in_store']:,} reported",
                f"event store filled with IncidentTracker.save(*batch of 1000 aggregates) from "
                f"2 threads: {rp['events_before_top_up']:,} events from the HTTP scenarios, "
                f"+{rp['events_added']:,} in {rp['top_up_seconds']:.1f} s "
                f"({rp['top_up_events_per_second']:,} events/s)"]
    if run.memory:
        out += ["", "MEMORY (after all HTTP measurements; VmHWM = peak resident set)"]
        out += [f"{name}: VmHWM {v.get('VmHWM', 0) / MB:.0f} MB, VmRSS {v.get('VmRSS', 0) / MB:.0f}"
                f" MB" for name, v in run.memory.items()]
    out += ["", f"CPU: where the machine's {run.machine.get('cpus')} cores went during each "
            "measurement (cores; client = wrk/pgbench; other = other programs on the machine)"]
    for name, meas in _all_measured(run):
        out.append(f"{name}: {meas.cpu.describe()}  [load {meas.load_before.split()[0]} -> "
                   f"{meas.load_after.split()[0]}]")
    if run.pgbench is not None and run.pgbench.cpu is not None:
        out.append(f"pgbench: {run.pgbench.cpu.describe()}")
    if run.profiles:
        out += ["", "PROFILES (py-spy, separate runs after the measurements)"]
        out += [f"{name}: {path}" for name, path in run.profiles.items()]
    if run.seed:
        out += ["", f"seed: {run.seed['incidents']:,} incidents ({run.seed['new']:,} new, "
                f"{run.seed['patch_pool']:,} in_progress for patch), {run.seed['events']:,} "
                f"events in {run.seed['seconds']} s through IncidentTracker.save(*batch)"]
    return "\n".join(out) + "\n"


def _all_measured(run: Run) -> list[tuple[str, Measured]]:
    items = list(run.scenarios.items())
    if run.bare is not None:
        items.append(("bare Sanic", run.bare))
    for size, data in run.scale.items():
        for page in ("page 1", "page 20"):
            loaded = data.get(page, {}).get("32 connections")
            if loaded is not None:
                items.append((f"list {size} {page}", loaded))
    return items


def as_json(run: Run) -> dict[str, Any]:
    def measured(m: Measured) -> dict[str, Any]:
        return {**m.result.as_dict(),
                "cpu_cores": {k: round(v, 3) for k, v in m.cpu.by_role.items()},
                "load_before": m.load_before, "load_after": m.load_after}

    return {
        "started": run.started.isoformat(), "host": run.host, "machine": run.machine,
        "plan": run.plan.__dict__, "postgres": run.pg, "notes": run.notes, "seed": run.seed,
        "scenarios": {k: {**measured(v), "good_per_second": round(_good_per_second(k, v), 1)}
                      for k, v in run.scenarios.items()},
        "limits": {
            "bare_sanic": measured(run.bare) if run.bare else None,
            "pgbench": {**run.pgbench.as_dict(),
                        "cpu_cores": run.pgbench.cpu.by_role if run.pgbench.cpu else None}
            if run.pgbench else None,
            "signing": run.signing,
        },
        "ratios": {name: round(_ratio(_good_per_second(name, run.scenarios[name]),
                                      limit.per_second), 4)
                   for name, limit in _limits(run).items() if name in run.scenarios},
        "ratios_per_cpu": {name: round(_ratio(_good_per_cpu_second(name, run.scenarios[name]),
                                              limit.per_cpu_second), 4)
                           for name, limit in _limits(run).items() if name in run.scenarios},
        "targets": [dict(zip(["check", "measured", "per_cpu_ratio", "target", "met"], row,
                             strict=True))
                    for row in targets(run)],
        "scale": {size: {page: {k: (v if k == "rounds" else measured(v))
                                for k, v in conns.items()}
                         for page, conns in data.items() if isinstance(conns, dict)}
                  | {"fill_seconds": data.get("fill_seconds")}
                  for size, data in run.scale.items()},
        "replay": run.replay, "memory_kb": run.memory, "profiles": run.profiles,
    }


def save(run: Run, text: str, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    name = stem(run)
    if (directory / f"{name}.txt").exists():
        name = f"{name}-{run.started:%H%M%S}"
    txt, js = directory / f"{name}.txt", directory / f"{name}.json"
    txt.write_text(text + "\n\nRAW OUTPUT\n==========\n\n" + "\n\n".join(run.raw) + "\n")
    js.write_text(json.dumps(as_json(run), indent=2, default=str) + "\n")
    return [txt, js]
