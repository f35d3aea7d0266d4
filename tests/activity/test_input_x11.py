"""Real keyboard and mouse input on the virtual X desktop, through the agent:
active seconds, activity % of a slot, the keyboard/mouse split, and no trace
of what was typed anywhere Punchclock writes."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from agent.capturing import CaptureSet
from agent.clock import SystemClock
from agent.export import export_rows
from agent.idle import IdlePolicy
from agent.logs import configure_logging
from agent.paths import Paths
from agent.projects import Projects
from agent.service import Agent, AgentConfig
from agent.store import Store
from agent.store.models import OutboxItem, Slot
from agent.timeline import read_records
from capture.focus.null import NullFocusSource
from capture.idle import IdleReading, create_idle_source
from capture.input import create_input_source
from tests.desktop import VirtualDesktop
from tests.sync.queueing import queue_uploads

pytestmark = pytest.mark.x11

SECRET = "hunter2-Zq7-correct-horse"


@pytest.fixture
def agent(desktop: VirtualDesktop) -> Iterator[Agent]:
    paths = Paths.from_env()
    paths.ensure()
    configure_logging(paths, "DEBUG", console=False)
    store = Store.open(paths.database)
    clock = SystemClock()
    capture = CaptureSet(
        NullFocusSource("not under test"),
        None,
        create_input_source(clock),
        create_idle_source(),
    )
    queue_uploads(store)
    agent = Agent(paths, store, clock, AgentConfig(flush_seconds=1), capture)
    Projects(store, clock).add("Acme")
    agent.timer.start("Acme")
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()
        store.close()


def totals(agent: Agent) -> tuple[float, float, float, float]:
    """Active, keyboard, mouse and tracked seconds over the entry's slots."""
    with agent.store.read() as session:
        row = session.execute(
            select(
                func.sum(Slot.active_seconds),
                func.sum(Slot.keyboard_seconds),
                func.sum(Slot.mouse_seconds),
                func.sum(Slot.tracked_seconds),
            )
        ).one()
    return tuple(float(v or 0) for v in row)  # type: ignore[return-value]


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


def seconds_spanned(action: Callable[[], None]) -> int:
    """Run ``action``; the most whole seconds its input can have touched.

    Input is marked in whole seconds of the monotonic clock.
    """
    before = time.monotonic()
    action()
    after = time.monotonic()
    return math.floor(after) - math.floor(before) + 1


def next_second() -> None:
    """Sleep past the next whole second, so two phases share no second."""
    time.sleep(1.05 - time.monotonic() % 1)


def test_real_input_is_counted_per_second_by_device(
    agent: Agent, desktop: VirtualDesktop
) -> None:
    window = desktop.open_xterm("typing-here")
    desktop.activate(window)
    health = {h.source: h for h in agent.capture_health()}
    assert health["input"].ok, health["input"].reason
    assert health["idle"].ok, health["idle"].reason
    next_second()

    typing = seconds_spanned(
        lambda: desktop.xdotool("type", "--delay", "40", SECRET + "\n")
    )
    wait_until(lambda: totals(agent)[1] >= 1, "keyboard seconds in a slot")
    next_second()
    time.sleep(1.5)  # two flushes: every typed second is written
    _, keyboard, mouse, _ = totals(agent)
    assert 1 <= keyboard <= typing
    assert mouse == 0

    def move() -> None:
        for x in range(200, 1200, 100):
            desktop.xdotool("mousemove", str(x), str(x // 2))
            time.sleep(0.1)

    moving = seconds_spanned(move)
    wait_until(lambda: totals(agent)[2] >= 1, "mouse seconds in a slot")
    time.sleep(2.5)
    active, keyboard_after, mouse, tracked = totals(agent)

    assert keyboard_after == keyboard
    assert 1 <= mouse <= moving
    assert active == keyboard + mouse, "the phases shared no second"
    assert 0 < active / tracked <= 1


PRESSES = 4


def entry_slots(agent: Agent, entry_id: int) -> list[tuple[float, float, float]]:
    """(tracked, active, mouse) seconds of each written slot of the entry."""
    with agent.store.read() as session:
        rows = session.execute(
            select(Slot.tracked_seconds, Slot.active_seconds, Slot.mouse_seconds)
            .where(Slot.entry_id == entry_id)
            .order_by(Slot.start)
        ).all()
    return [(float(t), float(a or 0), float(m or 0)) for t, a, m in rows]


def clear_of_a_slot_edge(slot_minutes: int, needed: float) -> None:
    """Wait, if need be, until ``needed`` seconds fit before the next slot
    starts: the entry below must lie in one slot."""
    length = slot_minutes * 60
    left = length - time.time() % length
    if left < needed:
        time.sleep(left + 0.5)


def test_keys_in_four_seconds_make_four_active_seconds_of_the_slot(
    agent: Agent, desktop: VirtualDesktop
) -> None:
    """One key press in each of four seconds, nothing else: the slot holding
    the entry has four active seconds (one fewer if a loaded machine hands
    two presses to the listener within one second), and its activity % in
    the export is four seconds over the entry's tracked time, to within the
    one second of counting granularity."""
    window = desktop.open_xterm("four-keys")
    desktop.activate(window)
    clear_of_a_slot_edge(agent.config.activity.slot_minutes, needed=30)
    entry = agent.timer.start("Acme")  # from here on, the slot's tracked time
    next_second()
    for _ in range(PRESSES):
        desktop.xdotool("key", "a")
        time.sleep(1.2)  # the next press in another second
    wait_until(
        lambda: sum(a for _, a, _ in entry_slots(agent, entry.id)) >= PRESSES - 1,
        "the presses counted",
    )
    time.sleep(2.5)  # two flushes: every counted second is written
    stopped = agent.timer.stop()
    assert stopped is not None
    assert stopped.end is not None
    duration = (stopped.end - entry.start).total_seconds()
    wait_until(
        lambda: (
            abs(sum(t for t, _, _ in entry_slots(agent, entry.id)) - duration) < 0.01
        ),
        "the slot's tracked time ends with the entry",
    )

    [(tracked, active, mouse)] = entry_slots(agent, entry.id)
    assert tracked >= PRESSES
    assert mouse == 0
    assert PRESSES - 1 <= active <= PRESSES + 1
    now = agent.clock.now()
    records = read_records(agent.store, entry.start, now, now)
    exported = json.loads(export_rows(records, "slot", ZoneInfo("UTC"), "json"))
    [row] = [r for r in exported["rows"] if r["entry_id"] == entry.id]
    assert row["active_seconds"] == active
    assert row["tracked_seconds"] == round(tracked)
    percent = 100 * PRESSES / tracked
    assert abs(row["activity_percent"] - percent) <= 100 / tracked + 0.5


def test_what_was_typed_is_stored_nowhere(
    agent: Agent, desktop: VirtualDesktop
) -> None:
    window = desktop.open_xterm("secret-here")
    desktop.activate(window)
    desktop.xdotool("type", "--delay", "20", SECRET + "\n")
    wait_until(lambda: totals(agent)[1] >= 1, "the typing was counted")
    agent.flush()
    with agent.store.read() as session:
        queued = session.scalar(select(func.count(OutboxItem.id)))
        rows = session.execute(select(OutboxItem.kind, OutboxItem.record_id)).all()
    assert queued, "nothing was queued for upload"

    paths = agent.paths
    written = [p for p in paths.data_dir.rglob("*") if p.is_file()]
    written += [p for p in paths.log_dir.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".log") and p.stat().st_size for p in written)
    needles = [SECRET.encode(), SECRET.encode("utf-16-le"), SECRET[:8].encode()]
    for path in written:
        data = Path(path).read_bytes()
        assert not any(n in data for n in needles), f"typed text found in {path}"
    assert not any(SECRET[:8] in f"{kind}{record}" for kind, record in rows)


def test_away_from_the_last_input_seen_by_record_without_asking_x(
    agent: Agent, desktop: VirtualDesktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RECORD works and the session is unlocked: the agent detects idle from
    the input it counted and asks the X server nothing per tick."""
    assert agent.capture is not None
    idle_source = agent.capture.idle
    assert idle_source is not None
    reads: list[float] = []
    real_read = idle_source.read

    def counted_read() -> IdleReading | None:
        reads.append(time.monotonic())
        return real_read()

    monkeypatch.setattr(idle_source, "read", counted_read)
    agent.idle.policy = IdlePolicy(threshold_seconds=2.0)
    window = desktop.open_xterm("away-here")
    desktop.activate(window)
    entry = agent.timer.current()
    assert entry is not None

    desktop.xdotool("type", "--delay", "20", "notes")
    typed = agent.clock.now()
    wait_until(lambda: agent.idle.away, "the worker seen away")
    desktop.xdotool("type", "--delay", "20", "back")
    wait_until(lambda: agent.pending_idle() is not None, "the prompt on return")

    prompt = agent.pending_idle()
    assert prompt is not None
    assert entry.start <= prompt.start <= typed
    assert prompt.cause == "idle"
    assert reads == [], "the X idle time was queried while RECORD worked"
