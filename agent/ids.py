"""Client-generated record ids.

Every record the agent creates gets a 63-bit integer id made on this machine:
milliseconds since 2020 in the high bits, random bits below. The id is the
record's primary key here and, paired with the store's own id, its
idempotency key on upload. Being time-ordered, new rows append to the end of
the table's b-tree, which keeps the file small and inserts cheap.
"""

from __future__ import annotations

import secrets
import threading
import time

_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_RANDOM_BITS = 20
_MAX = (1 << 63) - 1


class IdGenerator:
    """Makes strictly increasing ids within a process; safe across threads."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def new(self, at_ms: int | None = None) -> int:
        if at_ms is None:
            at_ms = time.time_ns() // 1_000_000
        candidate = ((at_ms - _EPOCH_MS) << _RANDOM_BITS) | secrets.randbits(
            _RANDOM_BITS
        )
        with self._lock:
            if candidate <= self._last:
                candidate = self._last + 1
            self._last = candidate
        if not 0 < candidate <= _MAX:
            raise OverflowError(f"record id out of range for time {at_ms} ms")
        return candidate


_generator = IdGenerator()


def new_id() -> int:
    """A new record id from the process-wide generator."""
    return _generator.new()
