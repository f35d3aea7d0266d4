"""``punchclock``: the command line, and the entry point of the tray app.

The CLI and the agent share one store. Every command works whether or not an
agent is running; a running agent notices within a second. User errors go to
stderr as one line with a non-zero exit, never as a traceback.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from agent import __version__
from agent.errors import NotAvailableError, PunchclockError, UserError

log = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", _tray)
    if args.self_test is not None:
        handler = _self_test
    try:
        code = handler(args)
        # Written now, so a closed pipe is met here and not at exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_gone()
    except PunchclockError as error:
        print(f"punchclock: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        # The file system said no (read-only, full, permissions): one line
        # naming the file, never a traceback.
        log.info("file system error: %s", error)
        where = f" {error.filename}" if error.filename else ""
        print(
            f"punchclock: cannot use{where}: {error.strerror or error}; check "
            "that the disk has room and the folder is writable "
            "(`punchclock doctor` lists the paths)",
            file=sys.stderr,
        )
        return 3
    except KeyboardInterrupt:
        return 130


def _reader_gone() -> int:
    """The reader of our output left (``punchclock entries list | head -1``).

    Nothing is wrong: exit quietly with 141, 128 + SIGPIPE, the status a
    shell shows for a program a closed pipe stopped (as ``yes | head`` does),
    so ``set -o pipefail`` still tells a cut-short listing from a full one.
    stdout is pointed at /dev/null so the interpreter's own flush at exit
    does not fail again and print "Exception ignored".
    """
    log.debug("stdout closed by its reader")
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # stdout is not a file (a test's capture): nothing to flush
    return 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="punchclock",
        description="Time tracking from the system tray. Without a command, "
        "starts the tray app.",
    )
    parser.add_argument(
        "--version", action="version", version=f"punchclock {__version__}"
    )
    parser.add_argument(
        "--self-test",
        nargs="*",
        metavar="PART",
        help="check that every part of this program loads (store, capture, Qt, "
        "...), one line each, and exit; name PARTs to check only those",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_agent(commands)
    _add_start_stop_status(commands)
    _add_projects(commands)
    _add_entries(commands)
    _add_report(commands)
    _add_doctor(commands)
    _add_consent(commands)
    _add_sync(commands)
    _add_break(commands)
    _add_timeline(commands)
    _add_export(commands)
    _add_money(commands)
    _add_screenshots(commands)
    return parser


# Parsers


def _add_agent(commands: Any) -> None:
    agent = commands.add_parser(
        "agent", help="run the headless agent in the foreground (no UI)"
    )
    agent.set_defaults(handler=_run_agent)


def _add_start_stop_status(commands: Any) -> None:
    start = commands.add_parser(
        "start", help="clock in on a project (switches if a timer runs)"
    )
    start.add_argument("project")
    start.add_argument("--task", "-t")
    start.add_argument("--note", "-n")
    start.add_argument(
        "--create",
        action="store_true",
        help="add the project (and task) first if it does not exist",
    )
    start.set_defaults(handler=_start)

    stop = commands.add_parser("stop", help="clock out")
    stop.set_defaults(handler=_stop)

    status = commands.add_parser("status", help="what runs now, and today's total")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_status)


def _add_projects(commands: Any) -> None:
    projects = commands.add_parser("projects", help="projects and their tasks")
    actions = projects.add_subparsers(title="actions", metavar="ACTION")
    projects.set_defaults(handler=_projects_list, all=False, json=False)

    listing = actions.add_parser("list", help="list projects and tasks")
    listing.add_argument("--all", action="store_true", help="include archived")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_projects_list)

    add = actions.add_parser("add", help="add a project, or tasks to one")
    add.add_argument("name")
    add.add_argument("--task", "-t", action="append", default=[], dest="tasks")
    add.set_defaults(handler=_projects_add)

    archive = actions.add_parser("archive", help="archive a project or a task")
    archive.add_argument("name")
    archive.add_argument("--task", "-t")
    archive.set_defaults(handler=_projects_archive)

    unarchive = actions.add_parser(
        "unarchive", help="offer an archived project or task again"
    )
    unarchive.add_argument("name")
    unarchive.add_argument("--task", "-t")
    unarchive.set_defaults(handler=_projects_unarchive)


def _add_entries(commands: Any) -> None:
    entries = commands.add_parser("entries", help="list and edit time entries")
    actions = entries.add_subparsers(title="actions", metavar="ACTION")
    entries.set_defaults(
        handler=_entries_list, date_from="today", date_to=None, tz=None, json=False
    )

    listing = actions.add_parser("list", help="entries of a date range")
    _add_range(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_entries_list)

    add = actions.add_parser(
        "add", help="add time worked without the timer (local times)"
    )
    add.add_argument("project")
    add.add_argument("--start", "-s", required=True, help="'YYYY-MM-DD HH:MM' or HH:MM")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--end", "-e", help="'YYYY-MM-DD HH:MM' or HH:MM")
    when.add_argument("--duration", "-d", help="1h30m, 45m or 1:30")
    add.add_argument("--task", "-t")
    add.add_argument("--note", "-n")
    add.add_argument("--tz", help="zone of the times given (default: settings)")
    add.set_defaults(handler=_entries_add)

    edit = actions.add_parser("edit", help="change an entry")
    edit.add_argument("id", type=int)
    for flag in ("--project", "--task", "--note", "--start", "--end", "--tz"):
        edit.add_argument(flag)
    edit.set_defaults(handler=_entries_edit)

    delete = actions.add_parser("delete", help="delete an entry")
    delete.add_argument("id", type=int)
    delete.set_defaults(handler=_entries_delete)


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="date_from", default="today", help="YYYY-MM-DD (default today)"
    )
    parser.add_argument("--to", dest="date_to", help="YYYY-MM-DD (default: --from)")
    parser.add_argument("--tz", help="IANA time zone (default: settings or system)")


def _add_report(commands: Any) -> None:
    report = commands.add_parser("report", help="totals for a date range")
    _add_range(report)
    report.add_argument(
        "--by",
        default="project",
        choices=[
            "day",
            "project",
            "task",
            "app",
            "title",
            "domain",
            "project-app",
            "project-domain",
            "idle",
            "break",
        ],
        help="project-app, project-domain: apps or domains per project; "
        "idle: idle time by resolution; break: break time by policy",
    )
    report.add_argument(
        "--format",
        default="table",
        choices=["table", "csv", "json", "html"],
        help="html: a printable day report with the timeline (--by chooses "
        "only how --with-cost groups its cost section)",
    )
    report.add_argument(
        "--with-cost",
        action="store_true",
        help="add pay, bill and budget columns (by day, project or task)",
    )
    report.set_defaults(handler=_report)


def _add_money(commands: Any) -> None:
    from agent.money_cli import add_parsers

    add_parsers(commands)


def _add_screenshots(commands: Any) -> None:
    from agent.screenshots_cli import add_parser

    add_parser(commands)


def _add_doctor(commands: Any) -> None:
    doctor = commands.add_parser("doctor", help="capture health, paths and versions")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=_doctor)


def _add_consent(commands: Any) -> None:
    consent = commands.add_parser(
        "consent", help="the worker's consent to capture: show, accept, revoke"
    )
    actions = consent.add_subparsers(title="actions", metavar="ACTION")
    consent.set_defaults(handler=_consent_show, json=False)

    show = actions.add_parser("show", help="what is collected, and your answer")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_consent_show)
    accept = actions.add_parser("accept", help="consent to what the policy collects")
    accept.set_defaults(handler=_consent_accept)
    revoke = actions.add_parser("revoke", help="withdraw consent: capture stops")
    revoke.set_defaults(handler=_consent_revoke)


def _add_sync(commands: Any) -> None:
    from sync.cli import add_parser

    add_parser(commands)


def _add_break(commands: Any) -> None:
    pause = commands.add_parser(
        "break", help="take a break under a break policy, end it, list the policies"
    )
    actions = pause.add_subparsers(title="actions", metavar="ACTION")
    pause.set_defaults(handler=_break_list, json=False)

    start = actions.add_parser("start", help="pause the running entry for a break")
    start.add_argument("--policy", "-p", help="break policy (default: the first)")
    start.set_defaults(handler=_break_start)
    stop = actions.add_parser("stop", help="end the break; the entry continues")
    stop.add_argument("--policy", "-p", help="only if on a break of this policy")
    stop.set_defaults(handler=_break_stop)
    listing = actions.add_parser("list", help="the policies, and which are allowed now")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_break_list)


def _add_timeline(commands: Any) -> None:
    timeline = commands.add_parser("timeline", help="the lead's day view (a window)")
    timeline.add_argument("date", nargs="?", default="today", help="YYYY-MM-DD")
    timeline.add_argument("--tz", help="zone of the day (default: the worker's)")
    timeline.add_argument(
        "--bundle",
        "--open",
        dest="bundle",
        metavar="FILE",
        help="show a review bundle, read-only, instead of this computer's store",
    )
    timeline.add_argument(
        "--json",
        action="store_true",
        help="print the day's totals and lanes as JSON instead of opening a window",
    )
    timeline.add_argument(
        "--exit-after-paint", action="store_true", help=argparse.SUPPRESS
    )
    timeline.set_defaults(handler=_timeline)


def _add_export(commands: Any) -> None:
    export = commands.add_parser(
        "export", help="a review bundle for a lead, or rows as CSV or JSON"
    )
    what = export.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--bundle",
        action="store_true",
        help="one zip: records, screenshots and a manifest with checksums",
    )
    what.add_argument("--format", choices=["csv", "json"])
    _add_range(export)
    export.add_argument(
        "--by",
        default="project",
        choices=[
            "day",
            "project",
            "task",
            "app",
            "title",
            "domain",
            "slot",
            "span",
            "idle",
            "break",
            "flag",
        ],
        help="totals by day..domain, or the rows of slots, spans, idle periods, "
        "breaks or flags",
    )
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="default: stdout (a bundle: punchclock-FROM-TO.zip)",
    )
    export.set_defaults(handler=_export)


# Handlers


def _tray(_: argparse.Namespace) -> int:
    try:
        from ui.app import run_tray_app
    except ImportError as error:
        raise NotAvailableError(
            f"the tray app cannot load Qt ({error}); reinstall Punchclock, or "
            "run `punchclock agent` for the headless agent"
        ) from error
    return run_tray_app()


def _self_test(args: argparse.Namespace) -> int:
    from agent.selftest import run_self_test

    return run_self_test(args.self_test)


def _run_agent(_: argparse.Namespace) -> int:
    from agent.runner import run_headless

    return run_headless()


def _start(args: argparse.Namespace) -> int:
    from agent.allowance import StartGuard
    from agent.consent import Collection, Consent

    ctx = _context()
    # A policy that requires capture: no timer without the worker's consent.
    Consent(ctx.store, ctx.clock).check_timer(Collection.from_settings(ctx.settings))
    guard = ctx.timer.start_guard = StartGuard(ctx.settings, ctx.zone(None))
    if args.create:
        ctx.ensure_project(args.project, args.task)
    entry = ctx.timer.start(
        args.project, args.task, args.note, tracked=ctx.agent_running()
    )
    what = entry.project + (f" / {entry.task}" if entry.task else "")
    print(f"Clocked in on {what} at {_local(entry.start, ctx)}.")
    if guard.outside_shift is not None:
        print(f"Recorded as {guard.outside_shift}.")
    return 0


def _stop(_: argparse.Namespace) -> int:
    ctx = _context()
    entry = ctx.timer.stop()
    if entry is None:
        print("No timer was running.")
        return 0
    seconds = entry.seconds(ctx.clock.now())
    print(f"Clocked out of {entry.project} after {_hms(seconds)}.")
    return 0


def _status(args: argparse.Namespace) -> int:
    from agent.basics import Basics
    from agent.status import read_status

    # Plain SQL first; the full context only when an entry needs recovery.
    basics = Basics.load()
    _show_notices(basics.notices)
    tz = basics.zone(None)
    now = datetime.now(UTC)
    agent_running = basics.agent_running()
    status = read_status(basics.paths.database, tz, now, agent_running=agent_running)
    if status is None:
        ctx = _context(quiet=True)
        _show_notices([n for n in ctx.notices if n not in basics.notices])
        status = ctx.status()

    if args.json:
        print(json.dumps(status.as_json_dict(), ensure_ascii=False))
        return 0
    if status.project is None or status.since is None:
        print("Stopped.", end=" ")
    else:
        what = status.project + (f" / {status.task}" if status.task else "")
        since = status.since.astimezone(tz).strftime("%H:%M")
        print(f"{status.state.capitalize()}: {what} since {since}.", end=" ")
    print(f"Today: {_hms(status.today_seconds)}.")
    if not agent_running:
        print("(No agent is running: nothing is being captured.)")
    return 0


def _breaks(ctx: Any) -> Any:
    from agent.allowance import StartGuard
    from agent.breaks import Breaks

    breaks = Breaks(ctx.store, ctx.clock, ctx.settings.breaks)
    # A break's end reopens the entry: a start the limits may refuse.
    breaks.start_guard = StartGuard(ctx.settings, ctx.zone(None))
    return breaks


def _break_start(args: argparse.Namespace) -> int:
    ctx = _context()
    view = _breaks(ctx).start(args.policy, tracked=ctx.agent_running())
    paid = "paid" if view.paid else "unpaid"
    allotted = _hms(view.allotted_seconds or 0)
    print(
        f"On a break: {view.policy} ({paid}, {allotted} allotted) since "
        f"{_local(view.start, ctx)}; {view.project} is paused. "
        "End it with `punchclock break stop`."
    )
    return 0


def _break_stop(args: argparse.Namespace) -> int:
    ctx = _context()
    breaks = _breaks(ctx)
    current = breaks.current()
    if current is None:
        print("No break was open.")
        return 0
    if args.policy and args.policy.strip().casefold() != current.policy.casefold():
        raise UserError(
            f"the open break is {current.policy!r}, not {args.policy!r}; "
            "`punchclock break stop` ends it"
        )
    view = breaks.stop(tracked=ctx.agent_running())
    if view is None:
        print("No break was open.")
        return 0
    left = view.remaining(view.end or ctx.clock.now())
    over = f" ({_hms(-left)} over the allotted time)" if left and left < 0 else ""
    back = f"; back on {view.project}" if view.project else ""
    if view.resume_refused:
        back = f"; the timer did not resume: {view.resume_refused}"
    print(
        f"Break {view.policy} ended after {_hms(view.elapsed(ctx.clock.now()))}"
        f"{over}{back}."
    )
    return 0


def _break_list(args: argparse.Namespace) -> int:
    ctx = _context()
    breaks = _breaks(ctx)
    choices = breaks.choices()
    current = breaks.current()
    if args.json:
        print(json.dumps(_breaks_json(choices, current), ensure_ascii=False))
        return 0
    if current is not None:
        print(f"On a break: {current.policy} since {_local(current.start, ctx)}.")
    if not choices:
        print("No break policies are set.")
    for choice in choices:
        state = "available" if choice.allowed else f"not now: {choice.reason}"
        print(f"{choice.policy.name}  ({choice.policy.describe()})  {state}")
    return 0


def _breaks_json(choices: Any, current: Any) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "current": None
        if current is None
        else {
            "policy": current.policy,
            "paid": current.paid,
            "start": moment(current.start),
            "allotted_seconds": current.allotted_seconds,
            "project": current.project,
            "task": current.task,
        },
        "policies": [
            {
                "name": c.policy.name,
                "paid": c.policy.paid,
                "minutes": c.policy.minutes,
                "rule": str(c.policy.rule),
                "hours": c.policy.hours,
                "allowed": c.allowed,
                "reason": c.reason,
                "available_at": moment(c.available_at),
            }
            for c in choices
        ],
    }


def _projects_list(args: argparse.Namespace) -> int:
    ctx = _context()
    projects = ctx.projects.all(include_archived=args.all)
    if args.json:
        print(json.dumps([_project_json(p) for p in projects], ensure_ascii=False))
        return 0
    if not projects:
        print("No projects yet. Add one with `punchclock projects add NAME`.")
    from agent.names import shown

    for project in projects:
        print(shown(project.name) + (" (archived)" if project.archived else ""))
        for task in project.tasks:
            print(f"  - {shown(task.name)}" + (" (archived)" if task.archived else ""))
    return 0


def _projects_add(args: argparse.Namespace) -> int:
    ctx = _context()
    project = ctx.projects.add(args.name, args.tasks)
    tasks = ", ".join(task.name for task in project.tasks)
    print(f"Project {project.name}" + (f" with tasks: {tasks}" if tasks else "") + ".")
    return 0


def _projects_archive(args: argparse.Namespace) -> int:
    ctx = _context()
    ctx.projects.archive(args.name, args.task)
    print(f"Archived {args.task or args.name}.")
    return 0


def _projects_unarchive(args: argparse.Namespace) -> int:
    ctx = _context()
    ctx.projects.unarchive(args.name, args.task)
    print(f"{args.task or args.name} is offered again.")
    return 0


def _entries_list(args: argparse.Namespace) -> int:
    ctx = _context()
    tz = ctx.zone(args.tz)
    start, end = ctx.range_bounds(args.date_from, args.date_to, tz)
    entries = ctx.timer.entries(start, end)
    if args.json:
        rows = [_entry_json(entry) for entry in entries]
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not entries:
        print("No entries in that range.")
    now = ctx.clock.now()
    for entry in entries:
        print(_entry_line(entry, tz, now))
    return 0


def _entries_add(args: argparse.Namespace) -> int:
    from agent.timeparse import parse_duration, parse_moment

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    start = parse_moment(args.start, tz, now)
    if args.duration:
        end = start + parse_duration(args.duration)
    else:
        end = parse_moment(args.end, tz, now)
    entry = ctx.timer.add(args.project, start, end, task=args.task, note=args.note)
    print(f"Added entry {entry.id}: {_entry_line(entry, tz, now)}")
    return 0


def _entries_edit(args: argparse.Namespace) -> int:
    from agent.timeparse import parse_moment

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    entry = ctx.timer.edit(
        args.id,
        project=args.project,
        task=args.task,
        note=args.note,
        start=parse_moment(args.start, tz, now) if args.start else None,
        end=parse_moment(args.end, tz, now) if args.end else None,
    )
    print(f"Changed entry {entry.id}: {_entry_line(entry, tz, now)}")
    return 0


def _entries_delete(args: argparse.Namespace) -> int:
    ctx = _context()
    entry = ctx.timer.delete(args.id)
    print(f"Deleted entry {entry.id} ({entry.project}).")
    return 0


def _report(args: argparse.Namespace) -> int:
    from agent import report as render
    from agent.reporting import collect_report

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    date_from, date_to = ctx.date_range(args.date_from, args.date_to, tz)
    if args.with_cost and args.format != "html":
        from agent.money_cli import print_cost_report

        return print_cost_report(ctx, args.format, args.by, tz, date_from, date_to)
    if args.format == "html":
        from agent.money_cli import cost_html
        from agent.timeline import StoreSource
        from agent.timeline_html import render_days_html

        cost = cost_html(ctx, args.by, tz, date_from, date_to) if args.with_cost else ""
        source = StoreSource(ctx.store, ctx.paths.screenshots_dir, tz, lambda: now)
        sys.stdout.write(render_days_html(source, tz, date_from, date_to, now, cost))
        return 0
    result = collect_report(ctx.store, args.by, tz, date_from, date_to, now)
    renderers = {
        "table": render.render_table,
        "csv": render.render_csv,
        "json": render.render_json,
    }
    sys.stdout.write(renderers[args.format](result).rstrip("\n") + "\n")
    return 0


def _timeline(args: argparse.Namespace) -> int:
    from agent.timeline import load_day

    source, tz, day = _timeline_source(args)
    if args.json:
        timeline = load_day(source, day, tz)
        print(json.dumps(_timeline_json(timeline), ensure_ascii=False))
        return 0
    try:
        from ui.timeline import run_timeline
    except ImportError as error:
        raise NotAvailableError(
            f"the timeline window cannot load Qt ({error}); "
            "`punchclock timeline --json` prints the day without it"
        ) from error
    return run_timeline(source, day, tz, exit_after_paint=args.exit_after_paint)


def _timeline_source(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from pathlib import Path

    from agent.timeparse import parse_date

    if args.bundle:
        from agent.basics import Basics
        from agent.export import BundleSource

        source: Any = BundleSource.open(Path(args.bundle))
        tz = Basics.load().zone(args.tz) if args.tz else source.worker_zone
        if args.date == "today":
            return source, tz, source.first_day
        return source, tz, parse_date(args.date, tz, datetime.now(UTC))

    from agent.timeline import StoreSource

    ctx = _context()
    tz = ctx.zone(args.tz)
    source = StoreSource(
        ctx.store, ctx.paths.screenshots_dir, ctx.zone(None), ctx.clock.now
    )
    return source, tz, parse_date(args.date, tz, ctx.clock.now())


def _timeline_json(timeline: Any) -> dict[str, Any]:
    totals = timeline.totals

    def rows(group: str) -> list[dict[str, Any]]:
        return [
            {"key": t.key, "seconds": round(t.seconds), "share": round(t.share, 4)}
            for t in totals.by(group)
        ]

    return {
        "day": timeline.day.isoformat(),
        "tz": timeline.tz_name,
        "hours": timeline.hours,
        "tracked_seconds": round(totals.tracked_seconds),
        "break_seconds": round(totals.break_seconds),
        "idle_seconds": round(totals.idle_seconds),
        "totals": {
            group: rows(group) for group in ("projects", "tasks", "apps", "domains")
        },
        "lanes": {lane.kind.value: len(lane.bars) for lane in timeline.lanes},
        "screenshots": len(timeline.screenshots),
    }


def _export(args: argparse.Namespace) -> int:
    from pathlib import Path

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    date_from, date_to = ctx.date_range(args.date_from, args.date_to, tz)

    if args.bundle:
        from agent.export import write_bundle

        name = f"punchclock-{date_from}-{date_to}.zip"
        target = Path(args.output or name)
        summary = write_bundle(
            ctx.store, ctx.paths.screenshots_dir, tz, date_from, date_to, now, target
        )
        print(
            f"Review bundle {summary.path}: {summary.spans} spans, "
            f"{summary.screenshots} screenshots, "
            f"{summary.members} file{'s' if summary.members != 1 else ''}."
        )
        if summary.missing_images:
            print(
                f"{summary.missing_images} screenshot files were gone and are "
                "not in it."
            )
        print(f"Fingerprint (tell the lead): {summary.fingerprint}")
        return 0

    text = _export_text(ctx, args, tz, date_from, date_to, now)
    if args.output:
        from agent.paths import write_private

        write_private(Path(args.output), text.encode())
        print(f"Wrote {args.output}.")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")
    return 0


def _export_text(
    ctx: Any,
    args: argparse.Namespace,
    tz: Any,
    date_from: Any,
    date_to: Any,
    now: datetime,
) -> str:
    from agent import report as render
    from agent.export import ROW_KINDS, export_rows

    if args.by in ROW_KINDS:
        from agent.timeline import read_records
        from agent.timeparse import day_bounds

        start, _ = day_bounds(date_from, tz)
        _, end = day_bounds(date_to, tz)
        records = read_records(ctx.store, start, end, now)
        return export_rows(records, args.by, tz, args.format)

    from agent.reporting import collect_report

    result = collect_report(ctx.store, args.by, tz, date_from, date_to, now)
    if args.format == "csv":
        return render.render_csv(result)
    return render.render_json(result)


def _doctor(args: argparse.Namespace) -> int:
    from agent.doctor import collect, render

    ctx = _context()
    facts = collect(ctx)
    if args.json:
        print(json.dumps(facts, ensure_ascii=False, indent=2))
    else:
        print(render(facts))
    return 0


def _consent_show(args: argparse.Namespace) -> int:
    from agent.consent import Collection, Consent

    ctx = _context()
    collection = Collection.from_settings(ctx.settings)
    consent = Consent(ctx.store, ctx.clock)
    state = consent.state(collection)
    record = consent.record()
    if args.json:
        print(json.dumps(_consent_json(collection, state, record), ensure_ascii=False))
        return 0
    print("While the timer runs, Punchclock collects:")
    for _, collected, text in collection.lines():
        print(f"  [{'x' if collected else ' '}] {text}")
    if collection.private_apps:
        print(f"  Never recorded in: {', '.join(collection.private_apps)}")
    print(collection.destination)
    print(f"Your consent: {_CONSENT_WORDS[state]}")
    if record is not None:
        answered = record.at.astimezone(ctx.zone(None))
        print(f"  (answered {answered:%Y-%m-%d %H:%M})")
    return 0


_CONSENT_WORDS = {
    "needed": "not given yet; nothing is captured until you accept "
    "(`punchclock consent accept`)",
    "given": "given",
    "declined": "declined; the timer works, nothing is captured",
    "stale": "given for less than the policy now collects; capture waits "
    "until you accept again",
}


def _consent_accept(_: argparse.Namespace) -> int:
    from agent.consent import Collection, Consent

    ctx = _context()
    collection = Collection.from_settings(ctx.settings)
    Consent(ctx.store, ctx.clock).accept(collection)
    kinds = ", ".join(collection.kinds) or "nothing"
    print(f"Consent given to collecting: {kinds}.")
    return 0


def _consent_revoke(_: argparse.Namespace) -> int:
    from agent.consent import Collection, Consent

    ctx = _context()
    consent = Consent(ctx.store, ctx.clock)
    consent.decline()
    collection = Collection.from_settings(ctx.settings)
    if collection.requires_capture:
        print("Consent withdrawn. Your organisation's policy requires capture:")
        print("the timer cannot run until you accept again.")
    else:
        print("Consent withdrawn: nothing is captured; the timer still works.")
    return 0


def _consent_json(collection: Any, state: Any, record: Any) -> dict[str, Any]:
    return {
        "state": str(state),
        "collects": list(collection.kinds),
        "private_apps": list(collection.private_apps),
        "destination": collection.destination,
        "requires_capture": collection.requires_capture,
        "answered_at": record.at.isoformat() if record else None,
        "accepted_kinds": list(record.kinds) if record else [],
    }


# Helpers


def _context(*, quiet: bool = False) -> Any:
    from agent.context import Context

    ctx = Context.open()
    if not quiet:
        _show_notices(ctx.notices)
    return ctx


def _show_notices(notices: list[str]) -> None:
    for notice in notices:
        print(f"punchclock: {notice}", file=sys.stderr)


def _local(moment: datetime, ctx: Any) -> str:
    return str(moment.astimezone(ctx.zone(None)).strftime("%H:%M"))


def _hms(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}"


def _entry_line(entry: Any, tz: Any, now: datetime) -> str:
    start = entry.start.astimezone(tz)
    end = entry.end.astimezone(tz).strftime("%H:%M") if entry.end else "running"
    from agent.names import shown

    what = entry.project + (f" / {entry.task}" if entry.task else "")
    note = f"  {entry.note}" if entry.note else ""
    # One entry, one line: stored text never drives the terminal.
    return shown(
        f"{entry.id}  {start:%Y-%m-%d %H:%M}–{end}  {_hms(entry.seconds(now))}  "
        f"{what}  [{entry.source}]{note}"
    )


def _entry_json(entry: Any) -> dict[str, Any]:
    return {
        "id": entry.id,
        "project": entry.project,
        "task": entry.task,
        "note": entry.note,
        "source": entry.source,
        "start": entry.start.isoformat(),
        "end": entry.end.isoformat() if entry.end else None,
    }


def _project_json(project: Any) -> dict[str, Any]:
    return {
        "name": project.name,
        "archived": project.archived,
        "tasks": [{"name": t.name, "archived": t.archived} for t in project.tasks],
    }


if __name__ == "__main__":
    sys.exit(main())
