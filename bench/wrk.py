"""Driving a server with wrk: one scenario = a Lua script, a URL and its environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.system import BenchError, run_command

LUA = Path(__file__).resolve().parent / "lua"


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    percentiles_ms: dict[str, float]
    statuses: dict[int, int]
    errors: dict[str, int]
    extra: dict[str, int]
    raw: str = field(repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def count(self, *statuses: int) -> int:
        return sum(self.statuses.get(s, 0) for s in statuses)

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def non_2xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300)

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.get(k, 0) for k in ("connect", "read", "write", "timeout"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests, "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1), "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "percentiles_ms": {k: round(v, 3) for k, v in self.percentiles_ms.items()},
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors, "extra": self.extra,
        }


def build_script(scenario: str, workdir: Path) -> Path:
    """common.lua followed by the scenario's script, as one file for wrk's -s."""
    path = workdir / f"wrk-{scenario}.lua"
    body = (LUA / "common.lua").read_text()
    if scenario != "common":
        body += "\n" + (LUA / f"{scenario}.lua").read_text()
    path.write_text(body)
    return path


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    *,
    env: Mapping[str, str],
    seconds: float,
    connections: int,
    threads: int,
    timeout_s: int = 10,
) -> WrkResult:
    argv = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout_s}s", "--latency", "-s", str(script), url,
    ]
    done = run_command(argv, env=env, timeout=seconds + timeout_s + 60)
    raw = f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}"
    if done.returncode != 0:
        raise BenchError(f"wrk failed:\n{raw}")
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no BENCHJSON line:\n{raw}")
    data = json.loads(line.removeprefix("BENCHJSON "))
    percentiles = {k: v / 1000 for k, v in data["latency_us"]["percentiles"].items()}
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        p50_ms=percentiles["50"],
        p99_ms=percentiles["99"],
        percentiles_ms=percentiles,
        statuses={int(k): int(v) for k, v in data.get("statuses", {}).items()},
        errors={k: int(v) for k, v in data.get("errors", {}).items()},
        extra={k: int(v) for k, v in data.get("extra", {}).items()},
        raw=raw,
    )
