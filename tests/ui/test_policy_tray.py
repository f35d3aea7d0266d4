"""A policy file sets and locks the tray app's own choices ([tray])."""

from __future__ import annotations

import json
from datetime import timedelta

from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.paths import Paths
from agent.policy import load_effective, policy_file
from agent.screenshots import ShotNotice
from agent.service import Agent
from tests.ui.conftest import FakeAutostart
from ui.app import enforce_autostart
from ui.commands import CommandRunner
from ui.preferences import (
    Preferences,
    load_preferences,
    preferences_path,
    save_preferences,
)
from ui.settings_dialog import (
    AUTOSTART,
    GLOBAL_SHORTCUT,
    NOTIFICATIONS,
    SCREENSHOT_NOTIFICATIONS,
    SettingsDialog,
)
from ui.shell import Shell

POLICY = """\
[tray]
screenshot_notifications = false
autostart = true
global_shortcut = ""
"""


def _policy(paths: Paths, text: str = POLICY) -> None:
    policy_file(paths).write_text(text, encoding="utf-8")


def _locks(paths: Paths) -> dict[str, str]:
    return {key: "set by policy" for key in load_effective(paths).locked}


def test_a_policy_tray_section_is_understood_and_locks_its_keys(
    paths: Paths,
) -> None:
    _policy(paths)

    effective = load_effective(paths)

    assert effective.problems == []
    assert effective.locked == {
        SCREENSHOT_NOTIFICATIONS,
        AUTOSTART,
        GLOBAL_SHORTCUT,
    }


def test_the_policys_choices_win_and_never_land_in_the_workers_file(
    paths: Paths,
) -> None:
    save_preferences(paths, Preferences(notifications=False, global_shortcut="F9"))
    _policy(paths)

    assert load_preferences(paths) == Preferences(
        notifications=False, screenshot_notifications=False, global_shortcut=""
    )

    save_preferences(paths, Preferences(notifications=True, global_shortcut=""))
    written = json.loads(preferences_path(paths).read_text())
    assert written["notifications"] is True
    # The worker's own shortcut and notices stay for when the policy lets go.
    assert written["global_shortcut"] == "F9"
    assert written["screenshot_notifications"] is True
    policy_file(paths).unlink()
    assert load_preferences(paths).global_shortcut == "F9"


def test_locked_tray_fields_are_disabled_with_the_policys_values(
    qtbot: QtBot, paths: Paths
) -> None:
    _policy(paths)
    effective = load_effective(paths)
    dialog = SettingsDialog(
        effective.settings, load_preferences(paths), False, _locks(paths)
    )
    qtbot.addWidget(dialog)

    assert not dialog.screenshot_notifications.isEnabled()
    assert not dialog.screenshot_notifications.isChecked()
    assert not dialog.autostart.isEnabled()
    assert not dialog.global_shortcut.isEnabled()
    assert dialog.notifications.isEnabled()
    assert NOTIFICATIONS not in _locks(paths)


def test_autostart_set_by_policy_is_made_so_at_start(
    qtbot: QtBot, paths: Paths, runner: CommandRunner, autostart: FakeAutostart
) -> None:
    enforce_autostart(autostart, load_effective(paths).settings, {}, runner)
    runner.wait()
    assert not autostart.on

    _policy(paths)
    effective = load_effective(paths)
    enforce_autostart(autostart, effective.settings, _locks(paths), runner)
    qtbot.waitUntil(lambda: runner.idle)

    assert autostart.on


def test_screenshot_notices_turned_off_by_policy_are_not_shown(
    qtbot: QtBot, shell: Shell, agent: Agent, clock: ManualClock, paths: Paths
) -> None:
    shell.listen(agent)
    now = clock.now()
    notice = ShotNotice((1,), now, now, (), False, now + timedelta(minutes=2), True)
    notices = shell.dialogs.notices
    for listener in agent._screenshot_listeners:
        listener(notice)
    assert notices.current is not None
    notices.current.close()
    notices.current = None

    _policy(paths)
    for listener in agent._screenshot_listeners:
        listener(notice)

    assert notices.current is None
