"""The event store's write path alone: events/s for 1, 8 and 32 concurrent writers.

Each writer reports incidents (one IncidentReported event each) through the application,
either saving each one in its own transaction (``Application.save``, what a naive command
handler does) or through the group committer the service uses (``application/committer.py``).
PostgreSQL's events table is locked for every insert, so the first stays flat with concurrency
and the second grows with it.

    .venv/bin/python -m bench.write_path [--seconds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from pathlib import Path

from eventsourcing.application import Application

from application.ids import random_uuid
from bench.run import ADMIN_URL
from bench.seed import open_app, register_service, settings_for
from bench.system import ScratchDatabase, ensure_postgres
from domain.incident import Incident, Source
from web.runtime import prepare_database

WRITERS = (1, 8, 32)


def measure(seconds: float, writers: int, grouped: bool, database_url: str, workdir: Path) -> float:
    prepare_database(settings_for(database_url, workdir))
    tracker = open_app(database_url, workdir)
    actor = register_service(tracker).actor
    save = tracker._committer.save if grouped else lambda *a: Application.save(tracker, *a)
    done = [0] * writers
    stop = time.monotonic() + seconds

    def write(slot: int) -> None:
        while time.monotonic() < stop:
            save(Incident.report(random_uuid(), Source.MONITORING, "disk full", actor))
            done[slot] += 1

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    tracker.close()
    return sum(done) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    ensure_postgres(ADMIN_URL)
    print(f"{'writers':>8} {'one txn per command':>20} {'group commit':>13}")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        for writers in WRITERS:
            rates = []
            for grouped in (False, True):
                db = ScratchDatabase(ADMIN_URL, prefix="it_write").create()
                stack.callback(db.drop)
                rates.append(measure(args.seconds, writers, grouped, db.url, Path(tmp)))
            print(f"{writers:>8} {rates[0]:>15,.0f} ev/s {rates[1]:>8,.0f} ev/s")


if __name__ == "__main__":
    main()
