"""Settings the worker may change; the organisation's policy can lock any.

A locked field is shown, disabled, with a padlock and the policy's reason as
its tooltip, so the worker sees the value in force and who set it. Saving
validates through :mod:`agent.settings` (the same rules as the settings
file) and shows what is wrong beside the buttons instead of closing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from agent.settings import Settings, SettingsError, settings_to_toml
from ui.preferences import Preferences

LOCK = "🔒"

# Field keys, as the policy names them when it locks one.
SERVER_URL = "sync.server_url"
IDLE_THRESHOLD = "idle.threshold_minutes"
NOTIFICATIONS = "tray.notifications"
SCREENSHOT_NOTIFICATIONS = "tray.screenshot_notifications"
AUTOSTART = "tray.autostart"


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
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Punchclock — settings")
        self._settings = settings
        self.locked = dict(locked or {})
        self.result_choice: SettingsChoice | None = None

        self.server_url = QLineEdit(settings.sync.server_url, self)
        self.server_url.setPlaceholderText("https://time.example.com — empty: none")
        self.idle_threshold = QSpinBox(self)
        self.idle_threshold.setRange(1, 240)
        self.idle_threshold.setSuffix(" min")
        self.idle_threshold.setValue(settings.idle.threshold_minutes)
        self.notifications = QCheckBox("Show notifications", self)
        self.notifications.setChecked(preferences.notifications)
        self.screenshot_notifications = QCheckBox(
            "Tell me each time a screenshot is taken", self
        )
        self.screenshot_notifications.setChecked(preferences.screenshot_notifications)
        self.autostart = QCheckBox("Start Punchclock when I log in", self)
        self.autostart.setChecked(autostart)
        self.error = QLabel(self)
        self.error.setStyleSheet("color: #b91c1c")
        self.error.setWordWrap(True)

        form = QFormLayout()
        form.addRow(self._label("Server address", SERVER_URL), self.server_url)
        form.addRow(self._label("Idle after", IDLE_THRESHOLD), self.idle_threshold)
        form.addRow(self._label("Notifications", NOTIFICATIONS), self.notifications)
        form.addRow(
            self._label("Screenshots", SCREENSHOT_NOTIFICATIONS),
            self.screenshot_notifications,
        )
        form.addRow(self._label("At login", AUTOSTART), self.autostart)
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
            NOTIFICATIONS: self.notifications,
            SCREENSHOT_NOTIFICATIONS: self.screenshot_notifications,
            AUTOSTART: self.autostart,
        }

    def choice(self) -> SettingsChoice:
        """The dialog's values; raises SettingsError when one is invalid."""
        settings = dataclasses.replace(
            self._settings,
            sync=dataclasses.replace(
                self._settings.sync, server_url=self.server_url.text().strip()
            ),
            idle=dataclasses.replace(
                self._settings.idle, threshold_minutes=self.idle_threshold.value()
            ),
        )
        settings_to_toml(settings)  # validates every value, as saving would
        preferences = Preferences(
            notifications=self.notifications.isChecked(),
            screenshot_notifications=self.screenshot_notifications.isChecked(),
        )
        return SettingsChoice(settings, preferences, self.autostart.isChecked())

    def accept(self) -> None:
        try:
            self.result_choice = self.choice()
        except SettingsError as error:
            self.error.setText(str(error))
            return
        super().accept()

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
