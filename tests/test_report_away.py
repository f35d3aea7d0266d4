"""Time away in reports: idle time by resolution, break time by policy.

A real store and the agent's own idle monitor (the OS idle time scripted, as
in tests/activity) record a night in Berlin that crosses midnight and the
autumn DST change (03:00 -> 02:00, a 25-hour day): idle periods kept, split
across the repeated hour, discarded by policy and one still unanswered, and
breaks paid and unpaid, one across midnight.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.cli import main
from agent.clock import ClockWatch, ManualClock
from agent.idle import AnswerPart, IdleAnswer, IdleMonitor, IdlePolicy, Resolution
from agent.paths import Paths
from agent.projects import Projects
from agent.report import Report, render_csv, render_json, render_table
from agent.reporting import collect_report
from agent.store import Store
from agent.timer import Timer
from capture.idle import IdleReading
from tests.timeline.synth import add_break

BERLIN = ZoneInfo("Europe/Berlin")
EVE = date(2026, 10, 24)
DST_DAY = date(2026, 10, 25)  # 25 hours
NEXT = date(2026, 10, 26)
MINUTE = 60


def berlin(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    wall = datetime(day.year, day.month, day.day, hour, minute, fold=fold)
    return wall.replace(tzinfo=BERLIN).astimezone(UTC)


class Night:
    """The agent's timer and idle monitor on a manual clock; input when told."""

    def __init__(self, store: Store, start: datetime) -> None:
        self.store = store
        self.clock = ManualClock(start)
        Projects(store, self.clock).add("Acme")
        self.timer = Timer(store, self.clock)
        self.monitor = IdleMonitor(
            store, self.clock, IdlePolicy(threshold_seconds=5 * MINUTE)
        )
        self.monitor.restore()
        self.watch = ClockWatch(self.clock)
        self.last_input = self.clock.boottime()

    def work(self, seconds: int) -> None:
        for _ in range(seconds):
            self.clock.advance(1)
            self.last_input = self.clock.boottime()
            self._step()

    def away(self, seconds: int) -> None:
        """No input for ``seconds``; the input that ends them comes last."""
        for _ in range(seconds - 1):
            self.clock.advance(1)
            self._step()
        self.work(1)

    def off_until(self, moment: datetime) -> None:
        """Clocked out until ``moment``, and at the keyboard then."""
        self.timer.stop()
        self.clock.advance((moment - self.clock.now()).total_seconds() - 1)
        self.work(1)

    def answer(self, answer: IdleAnswer, by: str = "worker") -> None:
        prompt = self.monitor.pending()
        assert prompt is not None
        self.monitor.resolve(prompt.period_id, answer, by)

    def _step(self) -> None:
        for jump in self.watch.tick():
            self.timer.on_clock_jump(jump)
            self.monitor.on_clock_jump(jump)
        idle = IdleReading(self.clock.boottime() - self.last_input, False)
        self.monitor.tick(self.timer.current(), None, idle, False)


@dataclass(frozen=True)
class Recorded:
    store: Store
    now: datetime


@pytest.fixture(scope="module")
def recorded_night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime]:
    """The night, recorded once (a tick per second takes a while) into a
    store file that each test copies."""
    path = tmp_path_factory.mktemp("night") / "punchclock.db"
    store = Store.open(path)
    try:
        now = record_night(store)
    finally:
        store.close()
    return path, now


@pytest.fixture
def night(recorded_night: tuple[Path, datetime]) -> Iterator[Recorded]:
    """The recorded night in this test's own store, where the CLI reads it."""
    source, now = recorded_night
    paths = Paths.from_env()
    paths.ensure()
    shutil.copyfile(source, paths.database)
    store = Store.open(paths.database)
    yield Recorded(store, now)
    store.close()


def record_night(store: Store) -> datetime:
    """The night's idle periods and breaks; the clock ends at 01:30 on the 26th
    with the worker away since 23:41 on the 25th (unanswered, still going on)."""
    night = Night(store, berlin(EVE, 23, 20))

    # 23:21 -> 00:01: kept, across midnight (39 min on the 24th, 1 on the 25th).
    night.timer.start("Acme")
    night.work(1 * MINUTE)
    night.away(40 * MINUTE)
    night.answer(IdleAnswer.keep())

    # 02:20 (first) -> 02:20 (second): an hour across the DST change, split:
    # 20 min kept, 30 min a break, 10 min discarded.
    night.off_until(berlin(DST_DAY, 2, 19))
    night.timer.start("Acme")
    night.work(1 * MINUTE)
    left = night.clock.now()
    night.away(60 * MINUTE)
    night.answer(
        IdleAnswer.split(
            [
                AnswerPart(Resolution.KEEP, left + timedelta(minutes=20)),
                AnswerPart(Resolution.BREAK, left + timedelta(minutes=50)),
                AnswerPart(Resolution.DISCARD),
            ]
        )
    )

    # 09:01 -> 09:16: discarded by the policy, no one answered.
    night.off_until(berlin(DST_DAY, 9, 0))
    night.timer.start("Acme")
    night.work(1 * MINUTE)
    night.away(15 * MINUTE)
    night.answer(IdleAnswer.discard(), by="policy")

    # Away from 23:41 on the 25th; at 01:30 on the 26th not back yet.
    night.off_until(berlin(DST_DAY, 23, 40))
    night.timer.start("Acme")
    night.work(1 * MINUTE)
    night.clock.advance((berlin(NEXT, 1, 30) - night.clock.now()).total_seconds())
    night._step()

    add_break(store, berlin(DST_DAY, 12, 0), berlin(DST_DAY, 12, 45), "lunch")
    add_break(store, berlin(DST_DAY, 15, 0), berlin(DST_DAY, 15, 10), "rest", paid=True)
    # From 23:30 on the 25th to 00:15: across midnight.
    add_break(store, berlin(DST_DAY, 23, 30), berlin(NEXT, 0, 15), "rest", paid=True)
    return night.clock.now()


def rows(report: Report) -> dict[str, float]:
    return {row.key: row.seconds for row in report.rows}


def report(night: Recorded, by: str, first: date, last: date | None = None) -> Report:
    return collect_report(night.store, by, BERLIN, first, last or first, night.now)


def test_idle_time_by_resolution_per_local_day(night: Recorded) -> None:
    eve = report(night, "idle", EVE)
    dst_day = report(night, "idle", DST_DAY)
    next_day = report(night, "idle", NEXT)
    whole = report(night, "idle", EVE, NEXT)

    assert rows(eve) == {"kept": 39 * MINUTE}
    assert rows(dst_day) == {
        "kept": (1 + 20) * MINUTE,
        "break": 30 * MINUTE,
        "discarded (by policy)": 15 * MINUTE,
        "discarded": 10 * MINUTE,
        "unanswered": 19 * MINUTE,
    }
    assert rows(next_day) == {"unanswered": 90 * MINUTE}
    assert dst_day.total_seconds == 95 * MINUTE
    assert whole.total_seconds == (39 + 95 + 90) * MINUTE
    assert rows(whole)["kept"] == 60 * MINUTE
    assert all(row.active_seconds is None for row in whole.rows)


def test_the_split_across_the_repeated_hour_is_counted_by_its_parts(
    night: Recorded,
) -> None:
    # In UTC the split hour (00:20-01:20 UTC) and the kept period (21:21-22:01
    # UTC on the 24th) fall on other days than in Berlin.
    now = night.now
    utc = ZoneInfo("UTC")
    on_the_24th = collect_report(night.store, "idle", utc, EVE, EVE, now)
    on_the_25th = collect_report(night.store, "idle", utc, DST_DAY, DST_DAY, now)

    assert rows(on_the_24th) == {"kept": 40 * MINUTE}
    assert rows(on_the_25th)["kept"] == 20 * MINUTE
    assert rows(on_the_25th)["break"] == 30 * MINUTE
    assert rows(on_the_25th)["discarded"] == 10 * MINUTE


def test_break_time_by_policy_with_paid_and_unpaid_parts(night: Recorded) -> None:
    dst_day = report(night, "break", DST_DAY)
    next_day = report(night, "break", NEXT)

    # The split's break is a real break under the idle policy (unpaid).
    assert rows(dst_day) == {
        "lunch (unpaid)": 45 * MINUTE,
        "idle (unpaid)": 30 * MINUTE,
        "rest (paid)": (10 + 30) * MINUTE,
    }
    assert [row.key for row in dst_day.rows] == [
        "lunch (unpaid)",
        "rest (paid)",
        "idle (unpaid)",
    ]
    assert dst_day.paid_break_seconds == 40 * MINUTE
    assert dst_day.unpaid_break_seconds == 75 * MINUTE
    assert dst_day.total_seconds == 115 * MINUTE
    assert rows(next_day) == {"rest (paid)": 15 * MINUTE}

    shown = json.loads(render_json(dst_day))
    assert shown["by"] == "break"
    assert shown["total_seconds"] == 115 * MINUTE
    assert (shown["paid_break_seconds"], shown["unpaid_break_seconds"]) == (
        40 * MINUTE,
        75 * MINUTE,
    )
    assert shown["rows"][0] == {
        "key": "lunch (unpaid)",
        "seconds": 45 * MINUTE,
        "active_seconds": None,
    }


def test_tables_and_csv_say_what_they_total(night: Recorded) -> None:
    idle = render_table(report(night, "idle", DST_DAY))
    breaks = render_table(report(night, "break", DST_DAY))

    assert idle.startswith("Idle time by resolution, 2026-10-25 to 2026-10-25")
    assert "discarded (by policy)" in idle
    assert "Total" in idle
    assert "Activity" not in idle
    assert "Breaks (not in the total above)" not in idle
    assert breaks.startswith("Break time by policy, 2026-10-25")
    lines = breaks.splitlines()
    assert any(line.split() == ["Unpaid", "1:15"] for line in lines)
    assert any(line.startswith("Paid") and line.endswith(" 0:40") for line in lines)
    assert render_csv(report(night, "idle", EVE)).splitlines() == [
        "key,seconds,hours,active_seconds",
        "kept,2340,0.65,",
    ]


def test_the_cli_reports_away_time(
    night: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    args = ["report", "--from", "2026-10-24", "--tz", "Europe/Berlin"]
    assert main([*args, "--by", "idle", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["by"] == "idle"
    assert shown["rows"] == [
        {"key": "kept", "seconds": 39 * MINUTE, "active_seconds": None}
    ]

    assert main([*args, "--to", "2026-10-25", "--by", "break"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("Break time by policy, 2026-10-24 to 2026-10-25")
    assert "rest (paid)" in table


def test_unreadable_split_parts_count_the_period_whole(
    night: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    with night.store.write() as session:
        session.connection().exec_driver_sql(
            'UPDATE idle_periods SET detail = \'{"parts": [{"action": 1}]}\' '
            "WHERE resolution = 'split'"
        )

    dst_day = report(night, "idle", DST_DAY)

    assert rows(dst_day)["split"] == 60 * MINUTE
    assert "unreadable parts" in caplog.text
    assert dst_day.total_seconds == 95 * MINUTE
