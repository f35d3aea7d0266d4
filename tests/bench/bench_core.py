"""Benchmark of the core (issue 2): `punchclock status` latency, bytes per span.

Run: .venv/bin/python tests/bench/bench_core.py

1. P9: `punchclock status` latency — the real console script in a subprocess,
   against a store holding a week of entries and spans; median and p95.
2. P4: store bytes per span for a synthetic workday of 1,000 spans written
   through SpanRecorder, as (file size after checkpoint + VACUUM − the empty
   store's) / 1000: a local-only install (never signed in: no outbox rows),
   and signed in to a server, with the outbox rows and after the upload.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from agent.clock import ManualClock  # noqa: E402
from agent.paths import Paths  # noqa: E402
from agent.projects import Projects  # noqa: E402
from agent.spans import SpanRecorder  # noqa: E402
from agent.store import Store  # noqa: E402
from agent.store.outbox import start_queueing  # noqa: E402
from agent.timer import Timer  # noqa: E402
from capture.base import FocusSample  # noqa: E402

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))
STATUS_RUNS = 20
STATUS_TARGET_MS = 300.0
SPANS = 1000
SPAN_TARGET = 60.0
ACTIVITYWATCH_BYTES = 122.0
FLUSH_SECONDS = 5.0

APPS = [
    "code",
    "firefox",
    "gnome-terminal",
    "slack",
    "thunderbird",
    "libreoffice",
    "zoom",
    "nautilus",
    "evince",
    "gimp",
]
TITLES = [f"{word} — {app}" for app in APPS[:6] for word in ("main", "notes", "inbox")]
TITLES += [f"ticket-{n} review" for n in range(12)]  # 30 titles
URLS = [
    ("https://github.com/acme/app/pull/12", "github.com"),
    ("https://docs.python.org/3/library/sqlite3.html", "docs.python.org"),
    ("https://mail.example.com/inbox", "mail.example.com"),
    ("https://jira.example.com/browse/ACME-42", "jira.example.com"),
    ("https://stackoverflow.com/questions/1", "stackoverflow.com"),
]


def main() -> int:
    rng = random.Random(2)
    with tempfile.TemporaryDirectory(prefix="punchclock-bench-") as tmp:
        median, p95 = status_latency(Path(tmp) / "week", rng)
        local, with_outbox, drained, breakdown = bytes_per_span(Path(tmp) / "day")

    print("Punchclock core benchmark (issue 2)")
    print(
        f"  P9 `punchclock status` latency, {STATUS_RUNS} runs, a week of data: "
        f"median {median:.0f} ms, p95 {p95:.0f} ms  "
        f"(target <= {STATUS_TARGET_MS:.0f} ms: {_verdict(p95 <= STATUS_TARGET_MS)})"
    )
    print(
        f"  P4 store bytes per span, workday of {SPANS} spans: "
        f"{local:.1f} local-only (never signed in); signed in: "
        f"{with_outbox:.1f} with the outbox rows, {drained:.1f} after upload  "
        f"(target <= {SPAN_TARGET:.0f}: {_verdict(local <= SPAN_TARGET)}; "
        f"ActivityWatch ~{ACTIVITYWATCH_BYTES:.0f})"
    )
    if breakdown:
        print("  where the workday's bytes are (dbstat, signed in, before upload):")
        for name, size in breakdown:
            print(f"    {name:<34} {size:>8} bytes")
    return 0


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# P9


def status_latency(home: Path, rng: random.Random) -> tuple[float, float]:
    env = {**os.environ, "PUNCHCLOCK_HOME": str(home)}
    paths = Paths.under(home)
    paths.ensure()
    _fill_week(paths.database, rng)

    command = [PUNCHCLOCK, "status"]
    subprocess.run(command, env=env, check=True, capture_output=True)  # warm
    times = []
    for _ in range(STATUS_RUNS):
        began = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    return statistics.median(times), p95


def _fill_week(database: Path, rng: random.Random) -> None:
    """Seven days up to now: eight entries a day with spans, one running."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now - timedelta(days=7))
    store = Store.open(database)
    projects = Projects(store, clock)
    for name in ("Acme", "Globex", "Initech", "Umbrella"):
        projects.add(name, ["Design", "Build"])
    timer, recorder = Timer(store, clock), SpanRecorder(store, clock)

    while clock.now() < now - timedelta(hours=1):
        entry = timer.start(rng.choice(["Acme", "Globex", "Initech"]), "Build")
        recorder.on_entry(entry, entry.start)
        _work(clock, recorder, rng, minutes=50)
        stopped = timer.stop()
        recorder.on_entry(None, stopped.end if stopped and stopped.end else clock.now())
        recorder.flush()
        clock.advance(rng.choice([600, 600, 600, 14 * 3600]))
    timer.start("Umbrella")
    store.close()


def _work(
    clock: ManualClock, recorder: SpanRecorder, rng: random.Random, minutes: float
) -> int:
    """Focus changes every few seconds to a minute, flushed like the agent."""
    end = clock.now() + timedelta(minutes=minutes)
    count, since_flush, last = 0, 0.0, None
    while clock.now() < end:
        sample = _sample(clock, rng)
        while sample.same_content(last):
            sample = _sample(clock, rng)
        recorder.on_sample(sample)
        last, count = sample, count + 1
        step = rng.uniform(3, 60)
        clock.advance(step)
        since_flush += step
        if since_flush >= FLUSH_SECONDS:
            recorder.flush()
            since_flush = 0.0
    return count


def _sample(clock: ManualClock, rng: random.Random) -> FocusSample:
    app = rng.choice(APPS)
    title = rng.choice(TITLES)
    url, domain = rng.choice(URLS) if app == "firefox" else (None, None)
    return FocusSample(
        at=clock.now(), mono=clock.monotonic(), app=app, title=title, url=url,
        domain=domain,
    )  # fmt: skip


# P4


def bytes_per_span(
    directory: Path,
) -> tuple[float, float, float, list[tuple[str, int]]]:
    """Bytes per span: local-only, signed in before upload, after upload."""
    directory.mkdir()
    empty = _compacted_size(directory / "empty.db", lambda store: None)
    local = _compacted_size(directory / "local.db", _workday(signed_in=False))
    workday = _workday(signed_in=True)
    full = _compacted_size(directory / "day.db", workday)
    for name in ("local.db", "day.db"):
        with sqlite3.connect(directory / name) as conn:
            spans = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
        if spans != SPANS:
            raise SystemExit(f"expected {SPANS} spans, {name} has {spans}")

    day = directory / "day.db"
    breakdown = _dbstat(day)
    with sqlite3.connect(day) as conn:
        conn.execute("DELETE FROM outbox")
    drained = _compact(day)
    per_span = [(size - empty) / SPANS for size in (local, full, drained)]
    return per_span[0], per_span[1], per_span[2], breakdown


def _workday(*, signed_in: bool) -> Callable[[Store], None]:
    """The same workday (same seed) of SPANS spans, flushed like the agent."""
    rng = random.Random(2)

    def workday(store: Store) -> None:
        if signed_in:
            with store.write() as session:
                start_queueing(session, datetime(2026, 1, 5, 7, 0, tzinfo=UTC))
        clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        Projects(store, clock).add("Acme")
        timer, recorder = Timer(store, clock), SpanRecorder(store, clock)
        entry = timer.start("Acme")
        recorder.on_entry(entry, entry.start)
        last = None
        for _ in range(SPANS):
            sample = _sample(clock, rng)
            while sample.same_content(last):
                sample = _sample(clock, rng)
            recorder.on_sample(sample)
            last = sample
            # ~8 h over 1,000 spans, flushed every 5 s like the agent.
            remaining = rng.uniform(3, 55)
            while remaining > 0:
                step = min(FLUSH_SECONDS, remaining)
                clock.advance(step)
                remaining -= step
                recorder.flush()
        stopped = timer.stop()
        if stopped is None or stopped.end is None:
            raise SystemExit("the workday's entry did not stop")
        recorder.on_entry(None, stopped.end)
        recorder.flush()

    return workday


def _compacted_size(path: Path, fill: object) -> int:
    store = Store.open(path)
    fill(store)  # type: ignore[operator]
    store.close()
    return _compact(path)


def _compact(path: Path) -> int:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size


def _dbstat(path: Path) -> list[tuple[str, int]]:
    try:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name "
                "ORDER BY SUM(pgsize) DESC"
            ).fetchall()
    except sqlite3.OperationalError:
        return []  # SQLite built without dbstat
    return [(str(name), int(size)) for name, size in rows if size > 4096]


if __name__ == "__main__":
    sys.exit(main())
