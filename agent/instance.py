"""Whether an agent is running: an OS file lock held for the agent's lifetime.

The lock dies with its process, so a ``kill -9`` never leaves a stale lock
behind. The CLI checks it to know whether a running entry is still being
tracked or was left open by an agent that died.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import IO

from agent.paths import ensure_private_dir, open_private

log = logging.getLogger(__name__)


class AlreadyRunningError(RuntimeError):
    """Another agent holds the lock."""


class InstanceLock:
    """An exclusive, non-blocking lock on a file; one per running agent."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> None:
        ensure_private_dir(self._path.parent)
        # Created 0600 from the start, never readable by others for a moment.
        handle = os.fdopen(open_private(self._path), "a+b")
        if not _try_lock(handle):
            handle.close()
            raise AlreadyRunningError(f"another agent holds {self._path}")
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        log.debug("instance lock %s taken", self._path)

    def release(self) -> None:
        if self._file is not None:
            _unlock(self._file)
            self._file.close()
            self._file = None

    def is_held_elsewhere(self) -> bool:
        """True while another process holds the lock."""
        if self._file is not None:
            return False
        if not self._path.exists():
            return False
        with open(self._path, "a+b") as handle:
            if _try_lock(handle):
                _unlock(handle)
                return False
            return True

    def holder_pid(self) -> int | None:
        try:
            return int(self._path.read_text().strip() or "0") or None
        except (OSError, ValueError):
            return None


if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(handle: IO[bytes]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
