"""The "tell me each time a screenshot is taken" setting is honoured."""

from __future__ import annotations

from datetime import timedelta

from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.screenshots import ShotNotice
from agent.service import Agent
from ui.shell import Shell


def _notice(clock: ManualClock) -> ShotNotice:
    now = clock.now()
    return ShotNotice(
        shot_ids=(1,),
        taken_at=now,
        slot_start=now,
        thumbnails=(),
        blurred=False,
        deletable_until=now + timedelta(minutes=2),
        removes_time=True,
    )


def _shot_taken(agent: Agent, clock: ManualClock) -> None:
    """What the agent's screenshot thread does after storing a shot."""
    for listener in agent._screenshot_listeners:
        listener(_notice(clock))


def _save_screenshot_notifications(qtbot: QtBot, shell: Shell, on: bool) -> None:
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    dialog.screenshot_notifications.setChecked(on)
    dialog.accept()
    # Set once the preferences file is written.
    qtbot.waitUntil(lambda: shell.preferences.screenshot_notifications is on)


def test_notices_follow_the_setting_from_the_next_screenshot_on(
    qtbot: QtBot, shell: Shell, agent: Agent, clock: ManualClock
) -> None:
    shell.listen(agent)
    notices = shell.dialogs.notices
    _shot_taken(agent, clock)
    assert notices.current is not None
    assert notices.current.isVisible()
    notices.current.close()
    notices.current = None

    _save_screenshot_notifications(qtbot, shell, on=False)
    _shot_taken(agent, clock)
    assert notices.current is None

    _save_screenshot_notifications(qtbot, shell, on=True)
    _shot_taken(agent, clock)
    assert notices.current is not None
    shell.dialogs.close_all()
