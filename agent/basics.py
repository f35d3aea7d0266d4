"""What every command starts from, before the store: paths, settings, zone.

Light on purpose (no ORM): ``punchclock status`` answers from this and plain
SQL. :class:`agent.context.Context` builds the full set on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from agent.instance import InstanceLock
from agent.paths import Paths
from agent.policy import load_effective
from agent.settings import Settings
from agent.timeparse import zone


@dataclass
class Basics:
    paths: Paths
    settings: Settings
    notices: list[str] = field(default_factory=list)
    """Problems found while opening (settings, a damaged database) to show."""
    locked: frozenset[str] = frozenset()
    """Settings keys the organisation's policy sets (``section.key``)."""

    @classmethod
    def load(cls) -> Basics:
        paths = Paths.from_env()
        effective = load_effective(paths)
        return cls(paths, effective.settings, effective.problems, effective.locked)

    def agent_running(self) -> bool:
        return InstanceLock(self.paths.lock_file).is_held_elsewhere()

    def zone(self, name: str | None) -> ZoneInfo:
        """The zone named on the command line, else the settings', else local."""
        return zone(name or self.settings.general.time_zone)
