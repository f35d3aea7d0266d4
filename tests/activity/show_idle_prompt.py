"""Shows the idle prompt on a real display for a screenshot (run by a test).

Usage: show_idle_prompt.py OUT.png — grabs the dialog into OUT.png, prints
"shown" and keeps it on screen until stdin closes.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtWidgets import QApplication

from agent.idle import IdleAnswer, IdlePrompt, Resolution
from agent.projects import ProjectView, TaskView
from ui.idle_prompt import IdlePromptDialog

PROMPT = IdlePrompt(
    period_id=1,
    start=datetime(2026, 1, 5, 10, 2, tzinfo=UTC),
    end=datetime(2026, 1, 5, 10, 17, tzinfo=UTC),
    cause="idle",
    project="Acme",
    task="Design",
    answer_by=datetime(2026, 1, 5, 10, 27, tzinfo=UTC),
    no_answer="keep",
    keep_needs_reason=True,
    break_policy="lunch (unpaid)",
    waiting=1,
)


class StaticService:
    def pending_idle(self) -> IdlePrompt | None:
        return PROMPT

    def resolve_idle(self, period_id: int, answer: IdleAnswer) -> None:
        return None

    def project_choices(self) -> list[ProjectView]:
        return [
            ProjectView(1, "Acme", False, (TaskView(1, "Design", False),)),
            ProjectView(2, "Globex", False, (TaskView(2, "Support", False),)),
        ]


def main() -> None:
    app = QApplication(sys.argv[:1])
    dialog = IdlePromptDialog(StaticService(), PROMPT)
    dialog.radios[Resolution.SPLIT].setChecked(True)
    dialog.show()
    dialog.raise_()
    for _ in range(20):
        app.processEvents()
    dialog.grab().save(str(Path(sys.argv[1])))
    print("shown", flush=True)
    sys.stdin.read()
    dialog.close()


if __name__ == "__main__":
    main()
