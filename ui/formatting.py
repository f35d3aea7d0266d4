"""Durations, times and capture sources as the tray shows them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def hms(seconds: float) -> str:
    total = max(int(seconds), 0)
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def hm(seconds: float) -> str:
    total = max(int(seconds), 0) // 60
    return f"{total // 60}:{total % 60:02d}"


def clock_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M")


def ago(moment: datetime, now: datetime) -> str:
    """ "just now", "2 min ago", "3 h ago", "on 2026-01-05" """
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"on {moment.date().isoformat()}"


def items(count: int) -> str:
    return f"{count} item waiting" if count == 1 else f"{count} items waiting"


def shorten(text: str, limit: int = 60) -> str:
    """One line of at most ``limit`` characters (menus do not wrap)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# Each capture source in the worker's words; the keys are the sources' names.
SOURCE_LABELS = {
    "focus": "Which app is in front",
    "browser-url": "Web page in your browser",
    "input": "Keyboard and mouse activity",
    "idle": "Time away from the computer",
    "screenshot": "Screenshots",
}


def source_label(source: str) -> str:
    """A capture source's name as the worker reads it."""
    return SOURCE_LABELS.get(source, source.replace("-", " ").capitalize())
