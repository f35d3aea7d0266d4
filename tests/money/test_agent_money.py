"""The agent's tick applies work limits and budgets: the running entry
stops at the cap, its listeners hear of it, and the tray's lines say why."""

from __future__ import annotations

from agent.allowance import Notice, tray_lines
from agent.paths import Paths
from agent.service import Agent, AgentConfig
from agent.store import Store
from agent.timer import EntryView
from tests.money.conftest import BERLIN, Desk, settings_from


def test_the_agent_stops_the_timer_at_the_daily_cap_on_its_tick(
    paths: Paths, store: Store, desk: Desk
) -> None:
    settings = settings_from(
        {
            "limits": {"daily_hours": 1},
            "budgets": {"budget": [{"project": "Acme", "hours": 4}]},
        }
    )
    agent = Agent(paths, store, desk.clock, AgentConfig.from_settings(settings))
    seen: list[EntryView | None] = []
    notices: list[Notice] = []
    agent.add_listener(seen.append)
    agent.allowance.add_listener(notices.append)

    agent.timer.start("Acme")
    agent.tick()
    assert tray_lines(agent) == [
        "Work limit: 1:00 left today",
        "Budget of Acme: 4:00 h left (0 % used)",
    ]
    for _ in range(3700):
        desk.clock.advance(1)
        agent.tick()

    stopped = agent.timer.get(seen[0].id) if seen and seen[0] else None
    assert stopped is not None
    assert stopped.end is not None
    assert stopped.end.astimezone(BERLIN).strftime("%H:%M:%S") == "09:00:00"
    assert agent.current is None
    assert seen[-1] is None
    assert [n.title for n in notices] == ["Punchclock — timer stopped"]
    assert tray_lines(agent)[0] == "Work limit reached today"
    assert tray_lines(None) == []
