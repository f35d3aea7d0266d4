"""Work limits on a manual clock: the timer stops at the cap itself, will not
start again until the limit allows, and shift windows hold across midnight
and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from agent.allowance import Allowance, Notice, StartGuard
from agent.limits import LimitReachedError, Limits
from agent.settings import Settings
from agent.store.models import Entry, OutsideShift
from agent.timer import Timer
from tests.money.conftest import BERLIN, Desk, local, settings_from


def _limits(**limits: Any) -> Settings:
    return settings_from({"limits": limits})


class Shift:
    """The agent's view: a guarded timer and the allowance, ticked each minute."""

    def __init__(self, desk: Desk, settings: Settings) -> None:
        self.desk = desk
        self.timer = Timer(desk.store, desk.clock, StartGuard(settings))
        self.allowance = Allowance(desk.store, desk.clock, self.timer, settings)
        self.notices: list[Notice] = []
        self.allowance.add_listener(self.notices.append)

    def run(self, minutes: int, step: int = 60) -> None:
        """Let ``minutes`` pass, ticking every ``step`` seconds."""
        for _ in range(minutes * 60 // step):
            self.desk.clock.advance(step)
            self.allowance.tick(self.timer.current())

    def ends(self) -> list[str]:
        with self.desk.store.read() as session:
            entries = session.scalars(select(Entry).order_by(Entry.start))
            return [
                e.end.astimezone(BERLIN).strftime("%m-%d %H:%M:%S") if e.end else "-"
                for e in entries
            ]


def test_the_timer_stops_at_the_daily_cap_and_stays_stopped_till_tomorrow(
    desk: Desk,
) -> None:
    desk.work("Acme", "2026-03-30 06:00", "2026-03-30 07:00")  # 1 h already
    shift = Shift(desk, _limits(daily_hours=2.5))
    shift.timer.start("Acme")  # 08:00
    shift.allowance.tick(shift.timer.current())

    assert shift.allowance.lines() == ["Work limit: 1:30 left today"]
    shift.run(120, step=7)  # ticks that do not fall on the cap itself

    # Stopped at 09:30:00 exactly (1 h + 1.5 h), not at the tick after it.
    assert shift.ends() == ["03-30 07:00:00", "03-30 09:30:00"]
    assert shift.timer.current() is None
    (notice,) = shift.notices
    assert "daily limit is reached" in notice.message
    assert "on Tuesday 2026-03-31 at 00:00" in notice.message
    assert shift.allowance.lines() == ["Work limit reached today"]

    with pytest.raises(LimitReachedError, match="daily limit of 2:30 h is reached"):
        shift.timer.start("Globex")
    desk.clock.advance((local("2026-03-31 00:00") - desk.clock.now()).total_seconds())
    assert shift.timer.start("Globex").project == "Globex"


def test_a_daily_cap_counts_each_local_day_across_midnight(desk: Desk) -> None:
    desk.clock.advance((local("2026-03-30 22:00") - desk.clock.now()).total_seconds())
    shift = Shift(desk, _limits(daily_hours=3))
    shift.timer.start("Acme")
    shift.run(8 * 60)

    # 22:00 to midnight is 2 h of Monday; Tuesday's 3 h run out at 03:00.
    assert shift.ends() == ["03-31 03:00:00"]


def test_the_weekly_cap_refuses_a_start_until_the_next_week(desk: Desk) -> None:
    for day in ("23", "24", "25", "26"):  # Monday to Thursday, 10 h each
        desk.work("Acme", f"2026-03-{day} 08:00", f"2026-03-{day} 18:00")
    desk.work("Acme", "2026-03-27 08:00", "2026-03-27 10:00")
    shift = Shift(desk, _limits(weekly_hours=40))
    desk.clock.advance((local("2026-03-27 11:00") - desk.clock.now()).total_seconds())

    with pytest.raises(LimitReachedError, match="on Monday 2026-03-30 at 00:00"):
        shift.timer.start("Acme")


def test_a_shift_runs_across_midnight(desk: Desk) -> None:
    limits = Limits(
        _limits(shift=[{"days": ["friday"], "start": "22:00", "end": "06:00"}]).limits,
        BERLIN,
        "monday",
    )

    assert limits.shift_at(local("2026-03-27 21:59")) is None
    window = limits.shift_at(local("2026-03-28 05:59"))  # Saturday morning
    assert window == (local("2026-03-27 22:00"), local("2026-03-28 06:00"))
    assert limits.shift_at(local("2026-03-28 06:00")) is None
    assert limits.next_shift(local("2026-03-28 06:00")) == local("2026-04-03 22:00")


def test_a_night_shift_is_as_long_as_the_wall_clock_says_across_dst(
    desk: Desk,
) -> None:
    spec = [{"days": ["saturday"], "start": "22:00", "end": "06:00"}]
    limits = Limits(_limits(shift=spec).limits, BERLIN, "monday")

    # Spring: clocks skip 02:00-03:00 on 2026-03-29; the night is 7 h long.
    spring = limits.shift_at(local("2026-03-29 05:30"))
    assert spring is not None
    assert spring[1] - spring[0] == timedelta(hours=7)
    # Autumn: 02:00-03:00 happens twice on 2026-10-25; the night is 9 h long,
    # and 8.5 h after it began (05:30 local) is still inside it.
    start = local("2026-10-24 22:00")
    autumn = limits.shift_at(start + timedelta(hours=8.5))
    assert autumn is not None
    assert autumn == (start, start + timedelta(hours=9))
    assert (start + timedelta(hours=9)).astimezone(BERLIN).strftime("%H:%M") == "06:00"


def test_outside_the_shift_a_start_is_refused_and_a_running_timer_stops_at_its_end(
    desk: Desk,
) -> None:
    spec = [{"days": ["monday"], "start": "08:30", "end": "09:00"}]
    shift = Shift(desk, _limits(shift=spec, outside_shift="refuse"))

    with pytest.raises(LimitReachedError, match="outside your shift windows; the next"):
        shift.timer.start("Acme")  # 08:00
    desk.clock.advance(30 * 60)
    shift.timer.start("Acme")
    shift.allowance.tick(shift.timer.current())
    assert shift.allowance.lines() == ["Shift ends at 09:00"]
    shift.run(60, step=13)

    assert shift.ends() == ["03-30 09:00:00"]
    assert "your shift is over" in shift.notices[0].message


def test_outside_the_shift_a_start_is_recorded_when_policy_says_so(desk: Desk) -> None:
    spec = [{"days": ["monday"], "start": "09:00", "end": "17:00"}]
    shift = Shift(desk, _limits(shift=spec, outside_shift="record"))

    entry = shift.timer.start("Acme")  # 08:00: early
    shift.allowance.tick(entry)

    with desk.store.read() as session:
        (mark,) = session.scalars(select(OutsideShift))
    assert mark.entry_id == entry.id
    assert (
        mark.reason
        == "started outside the shift windows; the next shift starts at 09:00"
    )
    assert shift.allowance.lines() == ["Outside your shift (next starts at 09:00)"]
    assert shift.timer.current() is not None  # "record" does not stop it
    shift.run(120)
    assert shift.timer.current() is not None
    assert desk.clock.now().tzinfo is UTC


def test_a_policy_received_while_running_applies_its_cap_on_the_next_tick(
    desk: Desk,
) -> None:
    shift = Shift(desk, _limits())
    shift.timer.start("Acme")
    shift.run(30)
    assert shift.timer.current() is not None

    shift.allowance.apply_settings(_limits(daily_hours=0.25))
    shift.run(1)

    # Already past 15 minutes: stopped at once, at the tick (08:31); time
    # already worked is never cut away.
    assert shift.ends() == ["03-30 08:31:00"]
    assert "daily limit is reached" in shift.notices[0].message


def test_a_night_shift_stops_the_timer_at_six_on_the_night_clocks_go_back(
    desk: Desk,
) -> None:
    spec = [{"days": ["saturday"], "start": "22:00", "end": "06:00"}]
    shift = Shift(desk, _limits(shift=spec, outside_shift="refuse"))
    desk.clock.advance((local("2026-10-24 22:30") - desk.clock.now()).total_seconds())
    shift.timer.start("Acme")
    shift.run(10 * 60, step=45)

    # 02:00-03:00 happens twice that night: 8.5 h after 22:30, at 06:00 local.
    assert shift.ends() == ["10-25 06:00:00"]
    with desk.store.read() as session:
        (entry,) = session.scalars(select(Entry))
    assert entry.end is not None
    assert entry.end - entry.start == timedelta(hours=8.5)
