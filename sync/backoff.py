"""When to try again: exponential backoff with jitter, and Retry-After.

Jitter keeps a fleet of agents that lost the server at the same moment from
coming back at the same moment. "Equal jitter" is used (half the delay fixed,
half random) so that a retry is never immediate.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

# A server asking for more than this is treated as asking for this: an agent
# should not stay silent for a day because of one bad header.
MAX_RETRY_AFTER_S = 3600.0


@dataclass(frozen=True)
class BackoffPolicy:
    base_s: float = 2.0
    cap_s: float = 300.0

    def delay(self, failures: int, rand: Callable[[], float]) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1 or more)."""
        exponent = min(max(failures - 1, 0), 30)
        ceiling = min(self.cap_s, self.base_s * 2.0**exponent)
        return ceiling / 2 + rand() * ceiling / 2


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP-date).

    RFC 9110 §10.2.3. None when absent or unreadable; never negative, never
    above :data:`MAX_RETRY_AFTER_S`.
    """
    if not value:
        return None
    value = value.strip()

    if value.isdigit():
        seconds = float(value)
    else:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - now).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def agent_jitter(store_id: str, spread_s: float) -> float:
    """A stable per-agent offset in [0, spread_s): agents spread their uploads.

    Derived from the store id, so one agent keeps its offset across restarts
    and a fleet is spread evenly without coordination.
    """
    return random.Random(store_id).random() * spread_s
