"""Settings the worker may change; the organisation's policy can lock any.

A locked field is shown, disabled, with a padlock and the policy's reason as
its tooltip, so the worker sees the value in force and who set it. Saving
validates through :mod:`agent.settings` (the same rules as the settings
file) and shows what is wrong beside the buttons instead of closing: every
value typed stays as it was, so nothing is lost to a typo.
"""

from __future__ import annotations

import dataclasses
import functools
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent.settings import Settings, SettingsError, settings_to_toml
from ui.global_shortcut import ShortcutError, parse_shortcut
from ui.preferences import Preferences
from ui.sign_in import SignInRow

LOCK = "🔒"

# Field keys, as the policy names them when it locks one.
SERVER_URL = "sync.server_url"
IDLE_THRESHOLD = "idle.threshold_minutes"
TIME_ZONE = "general.time_zone"
TITLE_LEVEL = "capture.title_level"
PRIVATE_APPS = "capture.private_apps"
NOTIFICATIONS = "tray.notifications"
SCREENSHOT_NOTIFICATIONS = "tray.screenshot_notifications"
AUTOSTART = "tray.autostart"
GLOBAL_SHORTCUT = "tray.global_shortcut"

# The title levels of the settings file, in the worker's words, most
# collected first.
TITLE_LEVELS = {
    "full": "Window titles and web addresses",
    "domain-only": "App names; for browsers the web site only",
    "app-only": "App names only, no titles",
}
LOCAL_ZONE = "this computer's zone"
MAX_PRIVATE_APP = 200


class InvalidField(SettingsError):
    """A value in the dialog that cannot be saved; names the field to fix."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class SettingsChoice:
    """What the worker chose in the dialog."""

    settings: Settings
    preferences: Preferences
    autostart: bool


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: Settings,
        preferences: Preferences,
        autostart: bool,
        locked: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
        shortcut_note: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Punchclock — settings")
        self._settings = settings
        self._preferences = preferences
        self.locked = dict(locked or {})
        self.result_choice: SettingsChoice | None = None

        self.server_url = QLineEdit(settings.sync.server_url, self)
        self.server_url.setPlaceholderText("https://time.example.com — empty: none")
        self.sign_in = SignInRow(self.server_url, self)
        self.idle_threshold = QSpinBox(self)
        self.idle_threshold.setRange(1, 240)
        self.idle_threshold.setSuffix(" min")
        self.idle_threshold.setValue(settings.idle.threshold_minutes)
        self.time_zone = _time_zone_box(settings.general.time_zone, self)
        self.title_level = QComboBox(self)
        for level, text in TITLE_LEVELS.items():
            self.title_level.addItem(text, level)
        self.title_level.setCurrentIndex(
            self.title_level.findData(settings.capture.title_level)
        )
        self.private_apps = QPlainTextEdit("\n".join(settings.capture.private_apps))
        self.private_apps.setParent(self)
        self.private_apps.setPlaceholderText(
            "One app per line, e.g. KeePassXC or *bank* — only the time spent "
            "in them is recorded"
        )
        self.private_apps.setTabChangesFocus(True)
        self.private_apps.setFixedHeight(
            self.private_apps.fontMetrics().lineSpacing() * 4 + 12
        )
        self.notifications = QCheckBox("Show notifications", self)
        self.notifications.setChecked(preferences.notifications)
        self.screenshot_notifications = QCheckBox(
            "Tell me each time a screenshot is taken", self
        )
        self.screenshot_notifications.setChecked(preferences.screenshot_notifications)
        self.screenshot_notifications.setToolTip(
            "Off: screenshots are still taken where policy asks for them, "
            "without a note; delete one within its grace period with "
            "`punchclock screenshots delete`."
        )
        self.autostart = QCheckBox("Start Punchclock when I log in", self)
        self.autostart.setChecked(autostart)
        self.global_shortcut = QKeySequenceEdit(
            QKeySequence.fromString(
                preferences.global_shortcut, QKeySequence.SequenceFormat.PortableText
            ),
            self,
        )
        self.global_shortcut.setMaximumSequenceLength(1)
        self.global_shortcut.setClearButtonEnabled(True)
        self.global_shortcut.setToolTip(
            "Starts the last project or stops the timer from any app. "
            "Empty: no shortcut."
        )
        self.shortcut_note = QLabel(shortcut_note, self)
        self.shortcut_note.setWordWrap(True)
        self.shortcut_note.setStyleSheet("color: #6b7280")
        self.shortcut_note.setVisible(bool(shortcut_note))
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b91c1c")
        self.error.setWordWrap(True)

        form = QFormLayout()
        form.addRow(self._label("Server address", SERVER_URL), self.server_url)
        form.addRow("", self.sign_in)
        form.addRow(self._label("Idle after", IDLE_THRESHOLD), self.idle_threshold)
        form.addRow(self._label("Time zone", TIME_ZONE), self.time_zone)
        form.addRow(self._label("Window titles", TITLE_LEVEL), self.title_level)
        form.addRow(self._label("Private apps", PRIVATE_APPS), self.private_apps)
        form.addRow(self._label("Notifications", NOTIFICATIONS), self.notifications)
        form.addRow(
            self._label("Screenshots", SCREENSHOT_NOTIFICATIONS),
            self.screenshot_notifications,
        )
        form.addRow(self._label("At login", AUTOSTART), self.autostart)
        form.addRow(
            self._label("Start/stop from any app", GLOBAL_SHORTCUT),
            self.global_shortcut,
        )
        form.addRow("", self.shortcut_note)
        self._apply_locks()

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save
            | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.setMinimumWidth(480)

    def fields(self) -> dict[str, QWidget]:
        return {
            SERVER_URL: self.server_url,
            IDLE_THRESHOLD: self.idle_threshold,
            TIME_ZONE: self.time_zone,
            TITLE_LEVEL: self.title_level,
            PRIVATE_APPS: self.private_apps,
            NOTIFICATIONS: self.notifications,
            SCREENSHOT_NOTIFICATIONS: self.screenshot_notifications,
            AUTOSTART: self.autostart,
            GLOBAL_SHORTCUT: self.global_shortcut,
        }

    def choice(self) -> SettingsChoice:
        """The dialog's values; raises SettingsError when one is invalid."""
        old = self._settings
        settings = dataclasses.replace(
            old,
            general=dataclasses.replace(old.general, time_zone=self._time_zone()),
            sync=dataclasses.replace(
                old.sync, server_url=self.server_url.text().strip()
            ),
            idle=dataclasses.replace(
                old.idle, threshold_minutes=self.idle_threshold.value()
            ),
            capture=dataclasses.replace(
                old.capture,
                title_level=self.title_level.currentData(),
                private_apps=self._private_apps(),
            ),
        )
        settings_to_toml(settings)  # validates every value, as saving would
        preferences = Preferences(
            notifications=self.notifications.isChecked(),
            screenshot_notifications=self.screenshot_notifications.isChecked(),
            global_shortcut=self._global_shortcut(),
        )
        return SettingsChoice(settings, preferences, self.autostart.isChecked())

    def accept(self) -> None:
        try:
            self.result_choice = self.choice()
        except InvalidField as error:
            self.error.setText(str(error))
            self.fields()[error.key].setFocus()
            return
        except SettingsError as error:
            self.error.setText(str(error))
            return
        super().accept()

    def _time_zone(self) -> str:
        if TIME_ZONE in self.locked:
            return self._settings.general.time_zone
        name = self.time_zone.currentText().strip()
        if name in ("", LOCAL_ZONE):
            return ""
        known = _zone_names()
        if name in known:
            return name
        by_case = {zone.casefold(): zone for zone in known}
        if name.casefold() in by_case:
            return by_case[name.casefold()]
        raise InvalidField(
            TIME_ZONE,
            f"Time zone: {name!r} is not a time zone Punchclock knows. Pick one "
            'from the list (e.g. "Europe/Berlin") or choose '
            f'"{LOCAL_ZONE}"; nothing has been saved yet.',
        )

    def _global_shortcut(self) -> str:
        if GLOBAL_SHORTCUT in self.locked:
            return self._preferences.global_shortcut
        text = self.global_shortcut.keySequence().toString(
            QKeySequence.SequenceFormat.PortableText
        )
        try:
            shortcut = parse_shortcut(text)
        except ShortcutError as error:
            raise InvalidField(
                GLOBAL_SHORTCUT,
                f"Start/stop shortcut: {error}. Press another combination, or "
                "clear it for none; nothing has been saved yet.",
            ) from error
        return shortcut.text if shortcut is not None else ""

    def _private_apps(self) -> tuple[str, ...]:
        """One name per line, trimmed; blank lines and repeats dropped."""
        names: list[str] = []
        for line in self.private_apps.toPlainText().splitlines():
            name = line.strip()
            if not name or name.casefold() in (n.casefold() for n in names):
                continue
            if len(name) > MAX_PRIVATE_APP or not name.isprintable():
                shown = name[:40] + ("…" if len(name) > 40 else "")
                raise InvalidField(
                    PRIVATE_APPS,
                    f"Private apps: {shown!r} is not an app name (at most "
                    f"{MAX_PRIVATE_APP} printable characters). Correct that "
                    "line; nothing has been saved yet.",
                )
            names.append(name)
        return tuple(names)

    def _label(self, text: str, key: str) -> QLabel:
        label = QLabel(f"{text} {LOCK}" if key in self.locked else text, self)
        label.setObjectName(f"label:{key}")
        return label

    def _apply_locks(self) -> None:
        for key, widget in self.fields().items():
            reason = self.locked.get(key)
            if reason is None:
                continue
            widget.setEnabled(False)
            widget.setToolTip(f"Set by your organisation's policy: {reason}")


def _time_zone_box(current: str, parent: QWidget) -> QComboBox:
    """An editable list of the zones, completing as the worker types."""
    box = QComboBox(parent)
    box.setEditable(True)
    box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    box.addItem(LOCAL_ZONE)
    box.addItems(sorted(_zone_names()))
    completer = box.completer()
    if completer is not None:
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
    box.setCurrentText(current or LOCAL_ZONE)
    return box


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
