"""``punchclock screenshots``: the worker's screenshots of a day, and deleting
one within the grace period without the tray's notice (wired into
:mod:`agent.cli`).

    punchclock screenshots list [--day D] [--json] [--tz ZONE]
    punchclock screenshots delete ID

A deletion follows the notice's rules (grace period; the slot's time goes
where policy says). With an agent running, the agent does it
(:mod:`agent.screenshot_requests`); without one, the command does.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent.errors import PunchclockError, StoreError, UserError

if TYPE_CHECKING:
    # Imported when a command runs: building the parser must stay light.
    from zoneinfo import ZoneInfo

    from agent.context import Context
    from agent.screenshots import CaptureRow


def add_parser(commands: Any) -> None:
    shots = commands.add_parser(
        "screenshots", help="your screenshots of a day; delete one in its grace period"
    )
    shots.set_defaults(handler=_list, day="today", json=False, tz=None)
    actions = shots.add_subparsers(title="actions", metavar="ACTION")

    listing = actions.add_parser(
        "list", help="a day's captures: id, time, monitors, state, deletable until"
    )
    listing.add_argument("--day", default="today", help="YYYY-MM-DD, today, yesterday")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    listing.add_argument("--tz", help="IANA time zone (default: settings or system)")
    listing.set_defaults(handler=_list)

    remove = actions.add_parser(
        "delete",
        help="delete a capture (every monitor) within the grace period; "
        "by policy its slot's time goes too",
    )
    remove.add_argument("id", type=int, help="an id from `punchclock screenshots list`")
    remove.set_defaults(handler=_delete)


def _context() -> Context:
    from agent.context import Context

    ctx = Context.open()
    for notice in ctx.notices:
        sys.stderr.write(f"punchclock: {notice}\n")
    return ctx


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _list(args: argparse.Namespace) -> int:
    from agent.screenshots import captures_between
    from agent.timeparse import day_bounds, parse_date

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    day = parse_date(args.day, tz, now)
    start, end = day_bounds(day, tz)
    rows = captures_between(ctx.store, start, end)
    grace = ctx.settings.screenshots.grace_seconds
    if args.json:
        shown = [_row_json(row, grace, now) for row in rows]
        _say(json.dumps({"day": day.isoformat(), "captures": shown}))
        return 0
    if not rows:
        _say(f"No screenshots on {day.isoformat()}.")
        return 0
    _say("ID                   TIME      MONITORS  STATE     DELETABLE UNTIL")
    for row in rows:
        _say(_row_line(row, grace, now, tz))
    return 0


def _open_until(row: CaptureRow, grace: int, now: datetime) -> datetime | None:
    until = row.deletable_until(grace)
    return until if until is not None and now <= until else None


def _row_line(row: CaptureRow, grace: int, now: datetime, tz: ZoneInfo) -> str:
    until = _open_until(row, grace, now)
    shown = f"{until.astimezone(tz):%H:%M:%S}" if until else "-"
    state = row.state
    return (
        f"{row.shot_ids[0]:<20} {row.taken_at.astimezone(tz):%H:%M:%S}  "
        f"{row.monitors:>8}  {state:<8}  {shown}"
    )


def _row_json(row: CaptureRow, grace: int, now: datetime) -> dict[str, Any]:
    until = _open_until(row, grace, now)
    return {
        "id": row.shot_ids[0],
        "ids": list(row.shot_ids),
        "taken_at": row.taken_at.isoformat(),
        "monitors": row.monitors,
        "state": row.state,
        "deleted_by": row.deleted_by,
        "deletable_until": until.isoformat() if until else None,
    }


def _delete(args: argparse.Namespace) -> int:
    ctx = _context()
    if ctx.agent_running():
        ids, removed = _ask_agent(ctx, args.id)
    else:
        ids, removed = _delete_here(ctx, args.id)
    monitors = f" ({len(ids)} monitors)" if len(ids) > 1 else ""
    if removed > 0:
        time = f"{removed / 60:.1f} min of the slot's time went with it."
    elif ctx.settings.screenshots.delete_removes_time:
        time = "No tracked time lay in its slot."
    else:
        time = "The slot's time is kept (the policy keeps it)."
    _say(f"Deleted screenshot {args.id}{monitors}. {time}")
    return 0


def _ask_agent(ctx: Context, shot_id: int) -> tuple[tuple[int, ...], float]:
    """The running agent deletes it (it holds the slot's activity)."""
    from agent import screenshot_requests

    screenshot_requests.request(ctx.store, shot_id, ctx.clock.now())
    answer = screenshot_requests.wait_for_answer(ctx.store, shot_id)
    if answer.error is not None:
        errors: dict[int, type[PunchclockError]] = {2: UserError, 3: StoreError}
        raise errors.get(answer.exit_code, PunchclockError)(answer.error)
    return answer.shot_ids, answer.removed_seconds


def _delete_here(ctx: Context, shot_id: int) -> tuple[tuple[int, ...], float]:
    """No agent runs: nothing is held in memory, the store is all there is."""
    from agent.screenshots import ShotDeleter

    deleter = ShotDeleter(
        ctx.store,
        ctx.clock,
        ctx.paths.screenshots_dir,
        ctx.settings.screenshots,
        ctx.settings.activity.slot_minutes,
    )
    deletion = deleter.delete(shot_id)
    return deletion.shot_ids, deletion.removed_seconds
