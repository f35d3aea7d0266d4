"""The organisation's policy: settings the worker cannot change.

A policy is written like the settings file — the same ``[section]`` and key
names, validated the same way — and is applied over the worker's settings.
Every key a policy sets is *locked*: the settings dialog shows it read-only,
and the worker's own value for it is ignored.

Layers, later ones winning:

1. the defaults shipped in ``resources/defaults.toml``;
2. the worker's ``settings.toml``;
3. a policy file deployed by the organisation (``policy.toml`` beside the
   settings file), for machines without a server;
4. the policy last received from the server (stored in the ``policies``
   table by sync).

:func:`load_effective` returns the result, the locked keys and every problem
found, each naming where it came from.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.paths import Paths
from agent.settings import LoadResult, Settings, apply_layer, load_settings, read_toml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Effective:
    """The settings in force, which keys policy locks, and what went wrong."""

    settings: Settings
    locked: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)

    def is_locked(self, section: str, key: str) -> bool:
        return f"{section}.{key}" in self.locked


def policy_file(paths: Paths) -> Path:
    return paths.config_dir / "policy.toml"


def load_effective(paths: Paths, server_policy: str | None = None) -> Effective:
    """Defaults, then the worker's settings, then policy file, then server policy.

    ``server_policy`` is the JSON body of the latest server policy, if any.
    Loading never raises and never writes.
    """
    worker: LoadResult = load_settings(paths)
    settings, problems = worker.settings, list(worker.problems)
    locked: set[str] = set()

    path = policy_file(paths)
    raw, file_problems = read_toml(path)
    problems += file_problems
    if raw is not None:
        settings = _apply(settings, raw, str(path), problems, locked)

    if server_policy:
        raw_server = _parse_server(server_policy, problems)
        if raw_server is not None:
            settings = _apply(
                settings, raw_server, "the server's policy", problems, locked
            )

    return Effective(settings, frozenset(locked), problems)


def _apply(
    settings: Settings,
    raw: dict[str, Any],
    source: str,
    problems: list[str],
    locked: set[str],
) -> Settings:
    applied, keys = apply_layer(settings, raw, Path(source), problems)
    locked.update(keys)
    if keys:
        log.info("policy from %s locks %s", source, ", ".join(sorted(keys)))
    return applied


def _parse_server(body: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as error:
        problems.append(
            f"the server's policy is not valid JSON ({error}); it is ignored until "
            "the server sends a new one"
        )
        return None
    if not isinstance(raw, dict):
        problems.append("the server's policy is not an object; it is ignored")
        return None
    return raw
