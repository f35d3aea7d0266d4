"""Durations and times as the tray shows them."""

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
