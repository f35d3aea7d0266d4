"""Shows the break countdown or the reminder dialog on a real display for a
screenshot (run by a test).

Usage: show_break_widgets.py countdown|overrun|reminder OUT.png — grabs the
window into OUT.png, prints "shown" and keeps it up until stdin closes.
"""

from __future__ import annotations

import select
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from agent.breaks import BreakView
from agent.reminders import Reminder, ReminderAction, ReminderKind
from ui.break_countdown import BreakCountdown
from ui.break_reminder import BreakReminderDialog

STARTED = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LUNCH = BreakView(
    id=1,
    policy="lunch",
    paid=False,
    start=STARTED,
    end=None,
    origin="taken",
    allotted_seconds=3600,
    project="Acme",
    task="Design",
)
REMINDER = Reminder(
    kind=ReminderKind.REST,
    seconds=600,
    active_seconds=3600,
    postpones_left=2,
    postpone_minutes=5,
    can_skip=True,
)


class StaticService:
    def current_break(self) -> BreakView | None:
        return LUNCH

    def stop_break(self) -> BreakView | None:
        return None

    def pending_reminder(self) -> Reminder | None:
        return REMINDER

    def answer_reminder(
        self, kind: ReminderKind, action: ReminderAction
    ) -> BreakView | None:
        return None


def build(kind: str) -> QWidget:
    if kind == "reminder":
        return BreakReminderDialog(StaticService(), REMINDER)
    minutes = 47 if kind == "countdown" else 63
    moment = STARTED + timedelta(minutes=minutes, seconds=26)
    return BreakCountdown(StaticService(), LUNCH, now=lambda: moment)


def quit_on_stdin_eof(app: QApplication) -> QTimer:
    """Keeps the event loop running (the window repaints when the window
    manager frames it) until the test closes stdin."""

    def poll() -> None:
        readable, _, _ = select.select([sys.stdin], [], [], 0)
        if readable and not sys.stdin.read():
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    return timer


def main() -> None:
    app = QApplication(sys.argv[:1])
    window = build(sys.argv[1])
    window.show()
    window.raise_()
    for _ in range(20):
        app.processEvents()
    window.grab().save(str(Path(sys.argv[2])))
    print("shown", flush=True)
    poller = quit_on_stdin_eof(app)
    app.exec()
    poller.stop()
    window.close()


if __name__ == "__main__":
    main()
