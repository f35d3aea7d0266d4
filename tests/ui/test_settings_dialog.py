"""Settings the worker may change, locked fields, and what saving writes."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from agent.consent import ConsentState
from agent.settings import Settings, default_settings, load_settings
from tests.ui.conftest import FakeAutostart, FakeCapture
from ui.preferences import Preferences, load_preferences
from ui.services import Services
from ui.settings_dialog import (
    AUTOSTART,
    IDLE_THRESHOLD,
    LOCAL_ZONE,
    PRIVATE_APPS,
    SERVER_URL,
    TIME_ZONE,
    TITLE_LEVEL,
    SettingsDialog,
)
from ui.shell import Shell


def _dialog(
    qtbot: QtBot,
    locked: dict[str, str] | None = None,
    settings: Settings | None = None,
) -> SettingsDialog:
    settings = settings or default_settings()
    dialog = SettingsDialog(settings, Preferences(), False, locked)
    qtbot.addWidget(dialog)
    return dialog


def _with_capture(**changes: object) -> Settings:
    settings = default_settings()
    capture = dataclasses.replace(settings.capture, **changes)  # type: ignore[arg-type]
    return dataclasses.replace(settings, capture=capture)


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


def test_time_zone_title_level_and_private_apps_come_back_as_settings(
    qtbot: QtBot,
) -> None:
    dialog = _dialog(qtbot)
    assert dialog.time_zone.currentText() == LOCAL_ZONE
    assert dialog.title_level.currentData() == "full"

    dialog.time_zone.setCurrentText("america/sao_paulo")
    dialog.title_level.setCurrentIndex(dialog.title_level.findData("app-only"))
    dialog.private_apps.setPlainText(" KeePassXC \n\n*bank*\nkeepassxc\n")
    dialog.accept()

    choice = dialog.result_choice
    assert choice is not None
    assert choice.settings.general.time_zone == "America/Sao_Paulo"
    assert choice.settings.capture.title_level == "app-only"
    assert choice.settings.capture.private_apps == ("KeePassXC", "*bank*")


def test_the_local_zone_is_saved_as_empty(qtbot: QtBot) -> None:
    settings = default_settings()
    general = dataclasses.replace(settings.general, time_zone="Europe/Berlin")
    dialog = _dialog(qtbot, settings=dataclasses.replace(settings, general=general))
    assert dialog.time_zone.currentText() == "Europe/Berlin"

    dialog.time_zone.setCurrentText(LOCAL_ZONE)
    dialog.accept()

    assert dialog.result_choice is not None
    assert dialog.result_choice.settings.general.time_zone == ""


def test_an_unknown_time_zone_is_explained_and_nothing_typed_is_lost(
    qtbot: QtBot,
) -> None:
    dialog = _dialog(qtbot)
    dialog.show()
    dialog.server_url.setText("https://time.example.com")
    dialog.private_apps.setPlainText("KeePassXC\nSignal")
    dialog.time_zone.setCurrentText("Mars/Olympus_Mons")

    dialog.accept()

    assert dialog.result_choice is None
    assert dialog.isVisible()
    message = dialog.error.text()
    assert "'Mars/Olympus_Mons' is not a time zone" in message
    assert "Europe/Berlin" in message
    assert dialog.time_zone.currentText() == "Mars/Olympus_Mons"
    assert dialog.server_url.text() == "https://time.example.com"
    assert dialog.private_apps.toPlainText() == "KeePassXC\nSignal"

    dialog.time_zone.setCurrentText("Europe/Lisbon")
    dialog.accept()

    assert dialog.result_choice is not None
    assert dialog.result_choice.settings.general.time_zone == "Europe/Lisbon"
    assert dialog.result_choice.settings.capture.private_apps == (
        "KeePassXC",
        "Signal",
    )


def test_a_private_app_that_is_no_name_is_explained(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    dialog.show()
    dialog.private_apps.setPlainText("KeePassXC\nbell\x07app")

    dialog.accept()

    assert dialog.result_choice is None
    assert "Private apps: 'bell\\x07app' is not an app name" in dialog.error.text()
    assert dialog.private_apps.toPlainText() == "KeePassXC\nbell\x07app"


def test_locked_privacy_fields_are_disabled_and_keep_the_policys_values(
    qtbot: QtBot,
) -> None:
    reason = "titles are set by Initech's IT"
    settings = _with_capture(title_level="app-only", private_apps=("Signal",))
    locked = {TITLE_LEVEL: reason, PRIVATE_APPS: reason, TIME_ZONE: reason}
    dialog = _dialog(qtbot, locked, settings)

    for widget in (dialog.title_level, dialog.private_apps, dialog.time_zone):
        assert not widget.isEnabled()
        assert reason in widget.toolTip()
    for key in locked:
        label = dialog.findChild(QLabel, f"label:{key}")
        assert label is not None
        assert "🔒" in label.text()
    assert dialog.title_level.currentData() == "app-only"
    assert dialog.private_apps.toPlainText() == "Signal"

    dialog.accept()

    assert dialog.result_choice is not None
    assert dialog.result_choice.settings.capture == settings.capture
    assert dialog.result_choice.settings.general.time_zone == ""


def test_private_apps_saved_from_the_shell_restart_capture(
    qtbot: QtBot, shell: Shell, services: Services, capture: FakeCapture
) -> None:
    services.consent.accept(services.collection())
    capture.on = True
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    dialog.private_apps.setPlainText("KeePassXC")
    dialog.time_zone.setCurrentText("Asia/Tokyo")

    with qtbot.waitSignal(shell.runner.finished):
        dialog.accept()

    written = tomllib.loads(services.paths.settings_file.read_text())
    assert written["capture"] == {"private_apps": ["KeePassXC"]}
    assert written["general"] == {"time_zone": "Asia/Tokyo"}
    assert capture.calls == ["off", "on"]
    assert capture.settings.capture.private_apps == ("KeePassXC",)
    qtbot.waitUntil(lambda: str(shell.model.tz) == "Asia/Tokyo")


def test_titles_widened_in_settings_ask_for_consent_again(
    qtbot: QtBot, shell: Shell, services: Services, capture: FakeCapture, paths: Path
) -> None:
    narrow = _with_capture(title_level="app-only")
    services.settings = narrow
    services.consent.accept(services.collection())
    capture.on = True
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    dialog.title_level.setCurrentIndex(dialog.title_level.findData("full"))

    with qtbot.waitSignal(shell.runner.finished):
        dialog.accept()

    assert services.consent_state() is ConsentState.STALE
    assert capture.calls == ["off"]
    qtbot.waitUntil(
        lambda: shell.consent_dialog is not None and shell.consent_dialog.isVisible()
    )
