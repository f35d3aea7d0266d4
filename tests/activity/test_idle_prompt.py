"""The idle prompt dialog over the real idle monitor (pytest-qt), and a
screenshot of it on the virtual X desktop."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent.idle import IdleAnswer, IdlePolicy, IdlePrompt, Resolution
from agent.projects import Projects, ProjectView
from agent.store.models import EntrySource
from tests.activity.conftest import World
from tests.activity.test_idle import work_then_leave
from tests.desktop import VirtualDesktop
from ui.idle_prompt import IdlePromptDialog

SCRIPT = Path(__file__).with_name("show_idle_prompt.py")


class MonitorService:
    """The service the tray passes in, here straight over the monitor."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.answers: list[IdleAnswer] = []

    def pending_idle(self) -> IdlePrompt | None:
        return self.world.monitor.pending()

    def resolve_idle(self, period_id: int, answer: IdleAnswer) -> None:
        self.answers.append(answer)
        self.world.monitor.resolve(period_id, answer)

    def project_choices(self) -> list[ProjectView]:
        return Projects(self.world.store, self.world.clock).all()


def open_dialog(qtbot: QtBot, world: World) -> tuple[IdlePromptDialog, IdlePrompt]:
    prompt = work_then_leave(world, idle_minutes=15)
    dialog = IdlePromptDialog(MonitorService(world), prompt)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog, prompt


def kept(world: World) -> list[tuple[str, object, object]]:
    return [
        (e.project.name, e.start, e.end)
        for e in world.entries()
        if e.source == EntrySource.IDLE_KEPT
    ]


def test_the_dialog_says_when_the_worker_was_away(qtbot: QtBot, world: World) -> None:
    dialog, prompt = open_dialog(qtbot, world)
    headline = dialog.findChild(type(dialog.error), "headline")
    assert headline is not None
    assert headline.text() == prompt.message()
    assert "(15 min)" in headline.text()


def test_keep_is_the_default_and_applies_once(qtbot: QtBot, world: World) -> None:
    dialog, prompt = open_dialog(qtbot, world)
    with qtbot.waitSignal(dialog.answered) as signal:
        dialog.apply_button.click()

    assert signal.args == ["keep"]
    assert kept(world) == [("Acme", prompt.start, prompt.end)]
    assert world.monitor.pending() is None


def test_assign_to_another_project(qtbot: QtBot, world: World) -> None:
    dialog, prompt = open_dialog(qtbot, world)
    dialog.radios[Resolution.REASSIGN].setChecked(True)
    dialog.picker.project.setCurrentText("Globex")
    with qtbot.waitSignal(dialog.answered):
        dialog.apply_button.click()

    assert kept(world) == [("Globex", prompt.start, prompt.end)]


def test_split_into_work_and_a_break(qtbot: QtBot, world: World) -> None:
    dialog, prompt = open_dialog(qtbot, world)
    dialog.radios[Resolution.SPLIT].setChecked(True)
    middle = prompt.start + timedelta(minutes=5)
    first, second = dialog.parts
    first.until.setDateTime(
        first.until.dateTime().fromSecsSinceEpoch(int(middle.timestamp()))
    )
    first.action.setCurrentIndex(first.action.findData(str(Resolution.KEEP)))
    second.action.setCurrentIndex(second.action.findData(str(Resolution.BREAK)))
    with qtbot.waitSignal(dialog.answered) as signal:
        dialog.apply_button.click()

    assert signal.args == ["split"]
    assert kept(world) == [("Acme", prompt.start, middle)]
    (taken,) = world.breaks()
    assert (taken.start, taken.end) == (middle, prompt.end)


def test_stop_the_timer(qtbot: QtBot, world: World) -> None:
    dialog, _ = open_dialog(qtbot, world)
    with qtbot.waitSignal(dialog.answered) as signal:
        dialog.stop_button.click()

    assert signal.args == ["stop"]
    assert world.timer.current() is None


def test_a_missing_reason_is_shown_and_nothing_changes(
    qtbot: QtBot, world: World
) -> None:
    world.restart(IdlePolicy(threshold_seconds=300, keep_needs_reason=True))
    dialog, _ = open_dialog(qtbot, world)
    dialog.apply_button.click()

    assert dialog.isVisible()
    assert "reason" in dialog.error.text()
    assert world.monitor.pending() is not None
    dialog.reason.setText("client call from my phone")
    with qtbot.waitSignal(dialog.answered):
        dialog.apply_button.click()
    assert world.periods()[0].note == "client call from my phone"


def test_the_dialog_closes_when_answered_elsewhere(qtbot: QtBot, world: World) -> None:
    dialog, prompt = open_dialog(qtbot, world)
    world.monitor.resolve(prompt.period_id, IdleAnswer.discard())

    with qtbot.waitSignal(dialog.finished, timeout=5000):
        pass
    assert not dialog.isVisible()


@pytest.mark.x11
def test_screenshot_of_the_dialog_on_the_virtual_desktop(
    desktop: VirtualDesktop, artifacts_dir: Path
) -> None:
    grab = artifacts_dir / "idle_prompt.png"
    screen = artifacts_dir / "idle_prompt_desktop.png"
    grab.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(grab)],
        env={**desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "shown"
        desktop.find_window("you were away")
        desktop.screenshot(screen)
    finally:
        proc.communicate("", timeout=10)

    from PIL import Image

    with Image.open(grab) as image:
        assert image.width > 300
        colours = image.convert("L").getcolors(maxcolors=65536) or []
        assert len(colours) > 10, "a blank grab"
    assert screen.stat().st_size > 0
