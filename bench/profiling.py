"""py-spy on a loaded worker: record collapsed stacks, then say where the samples went.

``py-spy record -f raw`` writes one line per distinct stack: ``frame;frame;...;leaf count``,
each frame ``function (path:line)``. py-spy's own idle detection does not work on this
machine (threads parked in ``queue.get`` or ``Condition.wait`` are reported as active, and
``--gil`` finds almost no GIL holder), so we record every thread (``--idle``) and classify
each sample ourselves: a sample is *waiting* when its innermost Python frame is on a source
line that blocks in C (``queue.get(``, ``.wait(``, ``.acquire(``, ``run_forever(``,
``select(``, ``sleep(``...): idle thread-pool threads, the group-commit thread waiting for
work, psycopg waiting on the socket, uvloop in epoll. The rest is *busy*: running Python or
native code (RSA signing, JSON, libpq), or waiting for the GIL, which py-spy cannot tell
apart. ``--nonblocking`` (no pausing of the worker) keeps the overhead low; its stacks can be
slightly torn, which is harmless for shares like these. Checked against arithmetic on the
token scenario: signing's share of busy samples there matches 2 signatures x the measured
per-signature CPU cost x req/s, divided by the worker's measured CPU. Shares below are of
busy samples unless stated.
"""

from __future__ import annotations

import contextlib
import functools
import re
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.system import ROOT

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^():]*)(?::(?P<line>\d+))?\)$")
_OWN = ("application", "domain", "projections", "web", "bench")
_BLOCKING_LINE = re.compile(
    r"(queue\.get\(|\.wait\(|\bwait\(|\.acquire\(|run_forever\(|\bselect\(|\.poll\(|"
    r"sleep\(|\.join\(|\.recv\(|\.accept\()"
)


@functools.cache
def _source_line(path: str, line: int) -> str:
    try:
        with open(path, errors="replace") as f:
            for number, text in enumerate(f, 1):
                if number == line:
                    return text.strip()
    except OSError:
        pass
    return ""


def is_waiting(frame: str) -> bool:
    """Whether a leaf frame is parked in a blocking call (see the module docstring)."""
    match = _FRAME.match(frame)
    if not match or not match["line"]:
        return False
    return bool(_BLOCKING_LINE.search(_source_line(match["path"], int(match["line"]))))


def start_record(py_spy: str, pid: int, seconds: float, out: Path, rate: int = 100) -> Any:
    """Start ``py-spy record`` on ``pid`` for ``seconds``; returns the Popen to wait on."""
    return subprocess.Popen(
        [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
         "--rate", str(rate), "--format", "raw", "--output", str(out), "--full-filenames",
         "--idle", "--nonblocking"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def dump(py_spy: str, pid: int) -> str:
    done = subprocess.run([py_spy, "dump", "--pid", str(pid)], capture_output=True, text=True,
                          check=False, timeout=60)
    return done.stdout + done.stderr


def package_of(path: str) -> str:
    """Which library (or which part of our code) a frame's file belongs to."""
    if "site-packages/" in path:
        rest = path.split("site-packages/", 1)[1]
        return rest.split("/", 1)[0].removesuffix(".py")
    try:
        relative = Path(path).resolve().relative_to(ROOT)
    except ValueError:
        relative = None
    if relative is not None and relative.parts and relative.parts[0] in _OWN:
        return f"ours:{relative.parts[0]}"
    if path.startswith("<") or not path:
        return path or "?"
    if "/python3" in path or path.startswith("/usr/lib"):
        name = Path(path).name.removesuffix(".py")
        parent = Path(path).parent.name
        return f"stdlib:{parent if parent not in ('', 'lib') and 'python3' not in parent else name}"
    return Path(path).name


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["path"]
    short = path.split("site-packages/", 1)[1] if "site-packages/" in path else path
    with contextlib.suppress(ValueError):
        short = str(Path(path).resolve().relative_to(ROOT))
    return f"{match['func']} ({short})"


@dataclass
class Summary:
    samples: int  # all samples, every thread
    waiting: Counter[str]  # leaf frames of waiting samples
    busy: int
    self_time: Counter[str]
    inclusive: Counter[str]
    self_by_package: Counter[str]
    inclusive_by_package: Counter[str]

    def render(self, top: int = 25) -> str:
        if not self.busy:
            return f"{self.samples} samples, none busy\n"

        def pct(n: int) -> str:
            return f"{100 * n / self.busy:5.1f}%"

        waiting = sum(self.waiting.values())
        lines = [f"{self.samples} samples of all threads: {waiting} waiting "
                 f"({100 * waiting / self.samples:.0f}%), {self.busy} busy; "
                 f"shares below are of busy samples"]
        lines.append("\nwaiting samples by where they wait (share of all samples):")
        lines += [f"  {100 * n / self.samples:5.1f}%  {k}" for k, n in self.waiting.most_common(8)]
        lines.append("\nself time by package (innermost frame):")
        lines += [f"  {pct(n)}  {k}" for k, n in self.self_by_package.most_common(top)]
        lines.append("\ninclusive by package (a frame of it anywhere on the stack):")
        lines += [f"  {pct(n)}  {k}" for k, n in self.inclusive_by_package.most_common(top)]
        lines.append("\ntop functions by self time:")
        lines += [f"  {pct(n)}  {k}" for k, n in self.self_time.most_common(top)]
        lines.append("\ntop functions by inclusive time:")
        lines += [f"  {pct(n)}  {k}" for k, n in self.inclusive.most_common(top)]
        return "\n".join(lines) + "\n"


def summarise(lines: Iterable[str]) -> Summary:
    waiting: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_pkg: Counter[str] = Counter()
    incl_pkg: Counter[str] = Counter()
    samples = busy = 0
    for line in lines:
        line = line.rstrip("\n")
        if not line or " " not in line:
            continue
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        # py-spy may put process/thread labels first; they are not code frames.
        frames = [f for f in stack.split(";") if _FRAME.match(f)]
        if not frames:
            continue
        samples += count
        leaf = frames[-1]
        if is_waiting(leaf):
            waiting[_short(leaf)] += count
            continue
        busy += count
        self_time[_short(leaf)] += count
        self_pkg[package_of(_FRAME.match(leaf)["path"])] += count  # type: ignore[index]
        for name in {_short(f) for f in frames}:
            inclusive[name] += count
        for pkg in {package_of(_FRAME.match(f)["path"]) for f in frames}:  # type: ignore[index]
            incl_pkg[pkg] += count
    return Summary(samples, waiting, busy, self_time, inclusive, self_pkg, incl_pkg)


def summarise_file(path: Path) -> Summary:
    with path.open(errors="replace") as f:
        return summarise(f)
