"""A timer the agent recovered after a crash, kept until the worker saw it.

When the agent starts and finds an entry a dead agent left open, it closes
the entry at its last confirmation (:meth:`agent.timer.Timer.recover`). The
tray tells the worker once, with a notification, and keeps a line in the
menu and a banner in the main window until the worker says "Got it". The
notice is written to a small JSON file in the data directory, so quitting
before seeing it does not lose it; an unreadable file is logged and
forgotten, never fatal.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.paths import Paths, ensure_private_dir, write_private
from agent.timer import EntryView

log = logging.getLogger(__name__)

FILE_NAME = "tray-recovered.json"
VERSION = 1


@dataclass(frozen=True)
class RecoveryNotice:
    """Which timer was closed after a crash, and when it was closed."""

    project: str
    task: str | None
    end: datetime

    @classmethod
    def from_entry(cls, entry: EntryView) -> RecoveryNotice | None:
        if entry.end is None:
            return None
        return cls(entry.project, entry.task, entry.end)

    @property
    def what(self) -> str:
        return f"{self.project} / {self.task}" if self.task else self.project

    def short(self, tz: ZoneInfo) -> str:
        """The menu's line."""
        return (
            f"Punchclock stopped unexpectedly: {self.what} was closed at "
            f"{self.end.astimezone(tz):%H:%M}"
        )

    def text(self, tz: ZoneInfo) -> str:
        """The notification and the main window's banner."""
        ended = self.end.astimezone(tz)
        return (
            f"Punchclock stopped unexpectedly. Your timer on {self.what} was "
            f"closed at {ended:%H:%M:%S} ({ended:%a %d %b}), when it last "
            "confirmed the work. If you kept working after that, add the time "
            "with `punchclock entries add`."
        )


def notice_path(paths: Paths) -> Path:
    return paths.data_dir / FILE_NAME


def load_notice(paths: Paths) -> RecoveryNotice | None:
    """The notice not yet seen, or None."""
    path = notice_path(paths)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        end = datetime.fromisoformat(raw["end"])
        task = raw.get("task")
        project = raw["project"]
        if not isinstance(project, str) or not isinstance(task, str | None):
            raise TypeError("project and task must be text")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s is unreadable (%s); the recovery notice is dropped", path, exc)
        return None
    if end.tzinfo is None:
        log.warning("%s has a time without a zone; the notice is dropped", path)
        return None
    return RecoveryNotice(project, task, end)


def save_notice(paths: Paths, notice: RecoveryNotice | None) -> None:
    """Keep ``notice`` until seen; None forgets it (the worker saw it)."""
    path = notice_path(paths)
    if notice is None:
        path.unlink(missing_ok=True)
        return
    ensure_private_dir(path.parent)
    data = {
        "version": VERSION,
        "project": notice.project,
        "task": notice.task,
        "end": notice.end.isoformat(),
    }
    write_private(path, json.dumps(data, indent=2).encode("utf-8"))
