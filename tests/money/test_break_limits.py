"""Work limits through breaks, on a manual clock: the entry a break's end
reopens goes through the start guard, and a cap reached during a paid break
ends the break there, with no zero-length entry left behind."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from agent.allowance import Allowance, Notice, StartGuard
from agent.breaks import Breaks
from agent.settings import BreakSettings, Settings
from agent.store.models import Break, Entry
from agent.timer import Timer
from tests.breaks.conftest import POLICIES
from tests.money.conftest import BERLIN, Desk, settings_from


class Agentish:
    """The agent's wiring: a guarded timer, breaks, the allowance watching
    both, ticked each minute."""

    def __init__(self, desk: Desk, settings: Settings) -> None:
        self.desk = desk
        self.timer = Timer(desk.store, desk.clock, StartGuard(settings))
        self.allowance = Allowance(desk.store, desk.clock, self.timer, settings)
        self.breaks = Breaks(desk.store, desk.clock, BreakSettings(POLICIES, 60))
        self.allowance.watch_breaks(self.breaks)
        self.notices: list[Notice] = []
        self.allowance.add_listener(self.notices.append)

    def run(self, minutes: int, step: int = 60) -> None:
        for _ in range(minutes * 60 // step):
            self.desk.clock.advance(step)
            self.allowance.tick(self.timer.current())

    def entries(self) -> list[str]:
        with self.desk.store.read() as session:
            rows = session.scalars(select(Entry).order_by(Entry.start))
            return [_span(e.start, e.end) for e in rows]

    def break_spans(self) -> list[str]:
        with self.desk.store.read() as session:
            rows = session.scalars(select(Break).order_by(Break.start))
            return [_span(b.start, b.end) for b in rows]


def _span(start: datetime, end: datetime | None) -> str:
    def hms(moment: datetime | None) -> str:
        return "-" if moment is None else f"{moment.astimezone(BERLIN):%H:%M:%S}"

    return f"{hms(start)}-{hms(end)}"


def test_a_cap_reached_during_a_paid_break_ends_the_break_there(desk: Desk) -> None:
    agent = Agentish(desk, settings_from({"limits": {"daily_hours": 1.5}}))
    agent.timer.start("Acme")  # 08:00
    agent.run(80)
    agent.breaks.start("coffee")  # paid, 15 min, from 09:20
    agent.allowance.tick(agent.timer.current())
    assert agent.allowance.lines() == ["Work limit: 0:10 left today"]

    agent.run(20, step=7)

    # The break counts toward the cap: it ends at 09:30:00, when 1:30 h of
    # worked time is reached, and no entry reopens after it.
    assert agent.entries() == ["08:00:00-09:20:00"]
    assert agent.break_spans() == ["09:20:00-09:30:00"]
    assert agent.timer.current() is None
    (notice,) = agent.notices
    assert notice.title == "Punchclock — break ended"
    assert notice.message.startswith(
        "Your paid break ended at 09:30: the daily limit is reached. "
        "The timer did not resume: cannot start: the daily limit of 1:30 h"
    )
    assert "on Tuesday 2026-03-31 at 00:00" in notice.message
    assert agent.allowance.lines() == ["Work limit reached today"]


def test_a_break_ending_outside_the_shift_does_not_resume_the_timer(
    desk: Desk,
) -> None:
    shift = {"days": ["monday"], "start": "08:00", "end": "09:00"}
    agent = Agentish(
        desk, settings_from({"limits": {"shift": [shift], "outside_shift": "refuse"}})
    )
    agent.timer.start("Acme")  # 08:00
    agent.run(50)
    agent.breaks.start("nap")  # unpaid, from 08:50
    agent.run(20)

    ended = agent.breaks.stop()  # 09:10, after the shift

    assert ended is not None
    assert ended.resume_refused is not None
    assert "outside your shift windows" in ended.resume_refused
    assert agent.entries() == ["08:00:00-08:50:00"]
    assert agent.timer.current() is None
    (notice,) = agent.notices
    assert notice.title == "Punchclock — timer not resumed"
    assert notice.message.startswith(
        "Your break ended, but the timer did not resume: cannot start: it is "
        "outside your shift windows"
    )


def test_a_break_ending_within_the_limits_resumes_the_timer(desk: Desk) -> None:
    agent = Agentish(desk, settings_from({"limits": {"daily_hours": 8}}))
    agent.timer.start("Acme", "Design")
    agent.run(60)
    agent.breaks.start("coffee")
    agent.run(15)

    ended = agent.breaks.stop()

    assert ended is not None
    assert ended.resume_refused is None
    assert agent.entries() == ["08:00:00-09:00:00", "09:15:00--"]
    current = agent.timer.current()
    assert current is not None
    assert (current.project, current.task) == ("Acme", "Design")
    assert agent.notices == []


def test_a_budget_used_up_during_a_paid_break_ends_it_where_breaks_count(
    desk: Desk,
) -> None:
    budget = {"budget": [{"project": "Acme", "hours": 1.5}], "over_budget": "stop"}
    agent = Agentish(desk, settings_from({"budgets": budget}))
    agent.timer.start("Acme")  # 08:00
    agent.run(80)
    agent.breaks.start("coffee")  # paid, from 09:20
    agent.run(20, step=7)

    assert agent.entries() == ["08:00:00-09:20:00"]
    assert agent.break_spans() == ["09:20:00-09:30:00"]
    (notice,) = [n for n in agent.notices if n.title == "Punchclock — break ended"]
    assert notice.message.startswith(
        "Your paid break ended at 09:30: the budget of Acme is used up. "
        "The timer did not resume: cannot start on Acme: its budget"
    )


def test_a_paid_break_policy_does_not_count_leaves_the_budget_alone(
    desk: Desk,
) -> None:
    budget = {"budget": [{"project": "Acme", "hours": 1.5}], "over_budget": "stop"}
    settings = settings_from({"budgets": budget, "rates": {"paid_breaks": "none"}})
    agent = Agentish(desk, settings)
    agent.timer.start("Acme")
    agent.run(80)
    agent.breaks.start("coffee")
    agent.run(15)

    agent.breaks.stop()  # 09:35: 1:20 h of the 1:30 h used

    assert agent.entries() == ["08:00:00-09:20:00", "09:35:00--"]
    assert [n.title for n in agent.notices] == ["Punchclock — budget"]  # 80 %
    agent.run(15, step=7)
    assert agent.entries() == ["08:00:00-09:20:00", "09:35:00-09:45:00"]
