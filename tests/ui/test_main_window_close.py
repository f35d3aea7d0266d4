"""Closing the main window never leaves Punchclock running invisibly."""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from ui.shell import Shell


def test_without_a_tray_closing_minimises_the_window(
    qtbot: QtBot, shell: Shell
) -> None:
    # Offscreen Qt has no tray, like a desktop without a panel.
    assert not QSystemTrayIcon.isSystemTrayAvailable()
    window = shell.window
    window.bring_to_front()
    qtbot.waitExposed(window)

    window.close()

    qtbot.waitUntil(window.isMinimized)
    assert window.isVisible()
