"""The tray app's own preferences: notifications and the global shortcut.

Kept apart from the agent's settings (they mean nothing to the headless
agent), as JSON in the config directory, written privately and atomically.
An unreadable file gives the defaults and a log line; it is never fatal.

A policy may set them too (``[tray]`` in the policy, agent/settings.py's
:class:`~agent.settings.TraySettings`): what it sets wins over the worker's
file when loading, and is never written into it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from agent.paths import Paths, ensure_private_dir, write_private
from agent.policy import Effective, load_effective

log = logging.getLogger(__name__)

FILE_NAME = "tray.json"
VERSION = 1


@dataclass(frozen=True)
class Preferences:
    notifications: bool = True
    """Timer started or stopped elsewhere, capture faults."""
    screenshot_notifications: bool = True
    """A note each time a screenshot is taken."""
    global_shortcut: str = "Ctrl+Alt+P"
    """Starts and stops the timer from any app, as Qt writes keys; "" = none."""


def preferences_path(paths: Paths) -> Path:
    return paths.config_dir / FILE_NAME


def load_preferences(paths: Paths, effective: Effective | None = None) -> Preferences:
    """The worker's preferences, with the policy's where it sets them."""
    effective = effective if effective is not None else load_effective(paths)
    return _under_policy(_load_own(paths), effective)


def _under_policy(preferences: Preferences, effective: Effective) -> Preferences:
    """``preferences`` with each one the policy sets ([tray]) as it sets it."""
    tray = effective.settings.tray
    return dataclasses.replace(
        preferences,
        **{
            name: getattr(tray, name)
            for name in _names()
            if effective.is_locked("tray", name)
        },
    )


def _names() -> tuple[str, ...]:
    return tuple(field.name for field in fields(Preferences))


def _load_own(paths: Paths) -> Preferences:
    path = preferences_path(paths)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Preferences()
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); using the default preferences", path, exc)
        return Preferences()
    if not isinstance(raw, dict):
        log.warning("%s is not a JSON object; using the default preferences", path)
        return Preferences()
    defaults = Preferences()
    values: dict[str, Any] = {}
    for field in fields(Preferences):
        value = raw.get(field.name)
        if type(value) is type(getattr(defaults, field.name)):
            values[field.name] = value
        elif value is not None:
            log.warning("%s: %s = %r is ignored", path, field.name, value)
    return Preferences(**values)


def save_preferences(paths: Paths, preferences: Preferences) -> None:
    """Write the worker's preferences; where a policy sets one, the worker's
    own value stays as it was (it applies again if the policy lets go)."""
    effective = load_effective(paths)
    own = _load_own(paths)
    locked = [name for name in _names() if effective.is_locked("tray", name)]
    preferences = dataclasses.replace(
        preferences, **{name: getattr(own, name) for name in locked}
    )
    path = preferences_path(paths)
    ensure_private_dir(path.parent)
    data = {"version": VERSION, **asdict(preferences)}
    write_private(path, json.dumps(data, indent=2).encode("utf-8"))
