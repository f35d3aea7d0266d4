"""The idle interface: how long since the last input, as the OS counts it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from capture.base import BackendUnavailable, CaptureHealth, HealthState

SOURCE = "idle"


@dataclass(frozen=True)
class IdleReading:
    """Seconds since the last keyboard or mouse input, session-wide.

    ``locked`` is True while the session is locked, False when it is known
    not to be, None where the back end cannot tell.
    """

    seconds: float
    locked: bool | None = None


class IdleSource(ABC):
    """The operating system's idle time: a second input source and the fallback.

    Threads: every method is called by the agent's tick job (a pool thread),
    one call at a time; ``read`` answers within a few milliseconds (one
    local query) and never raises for a desktop that went away — it returns
    None and the health says why. ``health`` may be called from any thread.
    A back end that follows the desktop from events (the X screen saver,
    D-Bus lockers, the Wayland compositor) starts its watch threads on the
    first ``read`` or ``reports_lock``, which may then take up to a second;
    ``close`` ends them.
    """

    @property
    def reports_lock(self) -> bool:
        """Whether a reading may overrule what a working input source saw.

        The agent reads the OS idle time only without a working input source
        or while this is True: a reading that cannot say the session is
        locked adds nothing to the input source's own count. Back ends that
        know the lock from events answer True only while locked (X11), so
        an unlocked session costs no query per tick; the rest poll the lock
        in each reading and answer True. Cheap after the first call.
        """
        return True

    @abstractmethod
    def read(self) -> IdleReading | None: ...

    @abstractmethod
    def health(self) -> CaptureHealth: ...

    def close(self) -> None:
        """Release the connection to the desktop, if any."""
        return None


class NullIdleSource(IdleSource):
    """Reads nothing and says why."""

    def __init__(
        self,
        reason: str,
        fix: str = "",
        backend: str = "null",
        state: HealthState = HealthState.UNAVAILABLE,
    ) -> None:
        self._health = CaptureHealth(SOURCE, backend, state, reason, fix)

    def read(self) -> IdleReading | None:
        return None

    def health(self) -> CaptureHealth:
        return self._health


class PollingIdleSource(IdleSource):
    """A back end over one OS query; a failing query turns into health."""

    backend = "os"

    def __init__(self) -> None:
        self._health = CaptureHealth.working(SOURCE, self.backend)

    @abstractmethod
    def _query(self) -> IdleReading:
        """One reading; raises :class:`BackendUnavailable` saying why not."""

    def read(self) -> IdleReading | None:
        try:
            reading = self._query()
        except BackendUnavailable as exc:
            self._health = CaptureHealth.unavailable(
                SOURCE, self.backend, exc.reason, exc.fix
            )
            return None
        self._health = CaptureHealth.working(SOURCE, self.backend)
        return reading

    def health(self) -> CaptureHealth:
        return self._health
