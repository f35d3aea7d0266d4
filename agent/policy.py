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
4. the policy last received from the server: sync keeps its JSON body in
   ``server-policy.json`` beside the settings file (:func:`save_server_policy`,
   written atomically), where the agent, the tray and every CLI command read
   it without a database or a network. A key the server sets wins over the
   worker's and the policy file's; where the server is silent, they apply.

:func:`load_effective` returns the result, the locked keys and every problem
found, each naming where it came from.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.names import fold
from agent.paths import Paths, write_private
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


def server_policy_file(paths: Paths) -> Path:
    return paths.config_dir / "server-policy.json"


def read_server_policy(paths: Paths, problems: list[str] | None = None) -> str | None:
    """The JSON body of the policy last received from the server, if any."""
    path = server_policy_file(paths)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        if problems is not None:
            problems.append(
                f"{path} cannot be read ({error}); the server's policy applies again "
                "after the next sync"
            )
        return None


def save_server_policy(paths: Paths, policy: dict[str, Any] | None) -> bool:
    """Keep the server's policy (None: the server sets none); returns whether
    it changed. Atomic: a reader sees the old body or the new one."""
    path = server_policy_file(paths)
    if policy is None:
        if not path.exists():
            return False
        path.unlink()
        log.info("the server sets no policy any more; local settings apply")
        return True
    body = json.dumps(policy, sort_keys=True, ensure_ascii=False, indent=1) + "\n"
    if read_server_policy(paths) == body:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, body.encode("utf-8"))
    log.info(
        "new policy from the server sets %s", ", ".join(sorted(policy)) or "nothing"
    )
    return True


def server_policy_stamp(paths: Paths) -> tuple[int, int] | None:
    """Changes when the stored server policy changes (a cheap stat)."""
    try:
        stat = server_policy_file(paths).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def load_effective(paths: Paths, server_policy: str | None = None) -> Effective:
    """Defaults, then the worker's settings, then policy file, then server policy.

    ``server_policy`` is the JSON body of the latest server policy; by
    default the one sync stored (:func:`save_server_policy`). Loading never
    raises and never writes.
    """
    worker: LoadResult = load_settings(paths)
    settings, problems = worker.settings, list(worker.problems)
    locked: set[str] = set()

    path = policy_file(paths)
    raw, file_problems = read_toml(path)
    problems += file_problems
    if raw is not None:
        settings = _apply(settings, raw, str(path), problems, locked)

    if server_policy is None:
        server_policy = read_server_policy(paths, problems)
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
    applied = _keep_unmatched(settings, applied, keys)
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
    if "sync" in raw:
        # A server must not move its agents to another server (or off TLS).
        problems.append("the server's policy cannot set [sync]; that part is ignored")
        raw = {name: value for name, value in raw.items() if name != "sync"}
    return raw


# Rates and budgets merge by scope instead of replacing the whole list: a
# policy's rates for a kind, project and task (all their dates) replace the
# rates below for that scope, its budgets for a project replace the budgets
# below for that project, and the others below stay (resources/defaults.toml,
# [rates] and [budgets]). A worker cannot outbid a policy's rate by adding a
# later-dated one of their own.
_KEYED_LISTS: dict[tuple[str, str], Callable[[Any], tuple[object, ...]]] = {
    ("rates", "rate"): lambda r: (r.kind, _fold(r.project), _fold(r.task)),
    ("budgets", "budget"): lambda b: (_fold(b.project),),
}


def _keep_unmatched(below: Settings, applied: Settings, keys: set[str]) -> Settings:
    for (section, key), identity in _KEYED_LISTS.items():
        if f"{section}.{key}" not in keys:
            continue
        upper = getattr(getattr(applied, section), key)
        taken = {identity(item) for item in upper}
        kept = tuple(
            item
            for item in getattr(getattr(below, section), key)
            if identity(item) not in taken
        )
        merged = dataclasses.replace(
            getattr(applied, section), **{key: tuple(upper) + kept}
        )
        applied = dataclasses.replace(applied, **{section: merged})
    return applied


def _fold(name: str) -> str:
    return fold(" ".join(name.split()))
