"""``punchclock doctor``: capture health, paths and versions in one place."""

from __future__ import annotations

import json
import os
import platform
import sys
from importlib import metadata
from typing import TYPE_CHECKING, Any

from agent import __version__
from agent.store import SCHEMA_HEAD

if TYPE_CHECKING:
    from agent.context import Context

PACKAGES = (
    "PySide6-Essentials",
    "pynput",
    "psutil",
    "mss",
    "SQLAlchemy",
    "alembic",
    "httpx",
    "APScheduler",
)


def collect(ctx: Context) -> dict[str, Any]:
    """Everything doctor reports, as plain data (what ``--json`` prints)."""
    paths = ctx.paths
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "session": _session(),
        "paths": {
            "data": str(paths.data_dir),
            "config": str(paths.config_dir),
            "logs": str(paths.log_dir),
            "screenshots": str(paths.screenshots_dir),
            "database": str(paths.database),
            "settings": str(paths.settings_file),
        },
        "database": {
            "schema": SCHEMA_HEAD,
            "size_bytes": _size(paths.database),
            "integrity": ctx.store.integrity_check() or ["ok"],
        },
        "settings_problems": list(ctx.notices),
        "agent_running": ctx.agent_running(),
        "capture": _capture_health(ctx),
        "sync": _sync(ctx),
        "packages": {name: _package_version(name) for name in PACKAGES},
    }


def render(facts: dict[str, Any]) -> str:
    lines = [
        f"Punchclock {facts['version']} on Python {facts['python']}, "
        f"{facts['platform']}",
        f"Desktop session: {facts['session']}",
        f"Agent running: {'yes' if facts['agent_running'] else 'no'}",
        "",
        "Capture:",
    ]
    for source in facts["capture"]:
        reason = f" — {source['reason']}" if source.get("reason") else ""
        lines.append(f"  {source['source']:<12} {source['state']}{reason}")
        if source.get("fix"):
            lines.append(f"  {'':<12} to fix: {source['fix']}")
    sync = facts.get("sync") or {}
    lines += ["", f"Sync: {sync.get('server') or 'off (no server set)'}"]
    if sync.get("server"):
        lines.append(f"  token kept in {sync.get('token_kept_in')}")
    lines.append(
        f"  waiting {sync.get('waiting', 0)}, quarantined "
        f"{sync.get('quarantined', 0)}, last success "
        f"{sync.get('last_success') or 'never'}"
    )
    if sync.get("last_error"):
        lines.append(f"  last error: {sync['last_error']}")
    lines += ["", "Paths:"]
    lines += [f"  {name:<12} {value}" for name, value in facts["paths"].items()]
    database = facts["database"]
    lines += [
        "",
        f"Database: schema {database['schema']}, {database['size_bytes']} bytes, "
        f"integrity {', '.join(database['integrity'])}",
    ]
    for problem in facts["settings_problems"]:
        lines.append(f"Settings: {problem}")
    lines += ["", "Packages:"]
    lines += [f"  {name:<20} {ver}" for name, ver in facts["packages"].items()]
    return "\n".join(lines)


def _session() -> str:
    if os.environ.get("WAYLAND_DISPLAY"):
        return f"wayland ({os.environ['WAYLAND_DISPLAY']})"
    if os.environ.get("DISPLAY"):
        return f"x11 (DISPLAY={os.environ['DISPLAY']})"
    kind = os.environ.get("XDG_SESSION_TYPE", "")
    return kind or f"{sys.platform}, no display variable set"


def _capture_health(ctx: Context) -> list[dict[str, str]]:
    """What the running agent reports; without one, what this desktop offers."""
    if ctx.agent_running():
        published = ctx.store.meta("capture_health")
        if published:
            return list(json.loads(published))

    from agent.capturing import CaptureSet
    from agent.service import health_dict

    capture = CaptureSet.from_settings(ctx.settings.capture, ctx.clock)
    return [health_dict(item) for item in capture.health()]


def _sync(ctx: Context) -> dict[str, Any]:
    """The sync state the agent (or the last `punchclock sync`) published."""
    from sync.outbox import Outbox
    from sync.service import read_state
    from sync.tokens import TokenStore

    counts = Outbox(ctx.store).counts(ctx.clock.now())
    state = read_state(ctx.store) or {}
    server = ctx.settings.sync.server_url or None
    return {
        "server": server,
        "target": ctx.settings.sync.target,
        "token_kept_in": TokenStore(ctx.paths.config_dir).location()
        if server
        else None,
        "waiting": counts.waiting,
        "quarantined": counts.quarantined,
        "last_success": state.get("last_success"),
        "last_error": state.get("last_error"),
        "offline": state.get("offline", False),
    }


def _size(path: os.PathLike[str]) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"
