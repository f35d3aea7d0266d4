"""Settings the worker may change, locked fields, and what saving writes."""

from __future__ import annotations

import tomllib

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from agent.settings import default_settings, load_settings
from tests.ui.conftest import FakeAutostart
from ui.preferences import Preferences, load_preferences
from ui.services import Services
from ui.settings_dialog import (
    AUTOSTART,
    IDLE_THRESHOLD,
    SERVER_URL,
    SettingsDialog,
)
from ui.shell import Shell


def _dialog(qtbot: QtBot, locked: dict[str, str] | None = None) -> SettingsDialog:
    dialog = SettingsDialog(default_settings(), Preferences(), False, locked)
    qtbot.addWidget(dialog)
    return dialog


def test_values_come_back_as_settings_and_preferences(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.server_url.setText(" https://time.example.com ")
    dialog.idle_threshold.setValue(12)
    dialog.notifications.setChecked(False)
    dialog.autostart.setChecked(True)

    dialog.accept()

    choice = dialog.result_choice
    assert choice is not None
    assert choice.settings.sync.server_url == "https://time.example.com"
    assert choice.settings.idle.threshold_minutes == 12
    assert choice.preferences == Preferences(notifications=False)
    assert choice.autostart


def test_an_invalid_address_is_explained_and_the_dialog_stays(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.show()
    dialog.server_url.setText("ftp://files.example.com")

    dialog.accept()

    assert dialog.result_choice is None
    assert dialog.isVisible()
    assert "not an http:// or https:// address" in dialog.error.text()


def test_policy_locked_fields_are_shown_disabled_with_the_reason(
    qtbot: QtBot,
) -> None:
    reason = "idle rules are set by Initech's IT"
    dialog = _dialog(qtbot, {IDLE_THRESHOLD: reason, SERVER_URL: "managed"})

    assert not dialog.idle_threshold.isEnabled()
    assert reason in dialog.idle_threshold.toolTip()
    assert not dialog.server_url.isEnabled()
    assert dialog.autostart.isEnabled()
    label = dialog.findChild(QLabel, f"label:{IDLE_THRESHOLD}")
    assert label is not None
    assert "🔒" in label.text()
    unlocked = dialog.findChild(QLabel, f"label:{AUTOSTART}")
    assert unlocked is not None
    assert "🔒" not in unlocked.text()


def test_locked_values_are_kept_as_the_policy_set_them(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, {IDLE_THRESHOLD: "policy"})

    dialog.accept()

    assert dialog.result_choice is not None
    assert dialog.result_choice.settings.idle.threshold_minutes == 5


def test_saving_from_the_shell_writes_settings_preferences_and_autostart(
    qtbot: QtBot, shell: Shell, services: Services, autostart: FakeAutostart
) -> None:
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    dialog.idle_threshold.setValue(9)
    dialog.screenshot_notifications.setChecked(False)
    dialog.autostart.setChecked(True)

    with qtbot.waitSignal(shell.runner.finished):
        dialog.accept()

    written = tomllib.loads(services.paths.settings_file.read_text())
    assert written["idle"] == {"threshold_minutes": 9}
    assert load_settings(services.paths).settings.idle.threshold_minutes == 9
    assert not load_preferences(services.paths).screenshot_notifications
    assert autostart.on
    assert shell.preferences.screenshot_notifications is False


def test_policy_values_never_land_in_the_workers_file(
    services: Services,
) -> None:
    import dataclasses

    chosen = dataclasses.replace(
        services.settings,
        idle=dataclasses.replace(services.settings.idle, threshold_minutes=30),
        sync=dataclasses.replace(
            services.settings.sync, server_url="https://time.example.com"
        ),
    )

    services.save_settings(chosen, frozenset({IDLE_THRESHOLD}))

    written = tomllib.loads(services.paths.settings_file.read_text())
    assert written["sync"] == {"server_url": "https://time.example.com"}
    assert "idle" not in written
