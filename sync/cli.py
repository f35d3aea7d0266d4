"""``punchclock sync``: upload now, show the state, sign in and out.

    punchclock sync [--once]          upload what waits, now
    punchclock sync --status [--json] last success, waiting, quarantined, errors
    punchclock sync --retry           put quarantined records back in line, upload
    punchclock sync login URL --key KEY [--target activitywatch]
    punchclock sync logout

Works whether or not the agent runs: the CLI uploads in its own process,
under the same cross-process upload lock the agent takes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from typing import Any

from agent.errors import PunchclockError, UserError


class SyncCommandError(PunchclockError):
    """Sync could not do what was asked; the message says what to do."""

    exit_code = 5


def add_parser(commands: Any) -> None:
    sync = commands.add_parser(
        "sync", help="upload to the server now, or show the sync state"
    )
    mode = sync.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="upload now (the default)")
    mode.add_argument("--status", action="store_true", help="show the sync state")
    mode.add_argument(
        "--retry", action="store_true", help="retry quarantined records, then upload"
    )
    sync.add_argument("--json", action="store_true", help="with --status: JSON")
    sync.set_defaults(handler=_sync)

    actions = sync.add_subparsers(title="actions", metavar="ACTION")
    login = actions.add_parser("login", help="sign this computer in to a server")
    login.add_argument("url")
    login.add_argument("--key", help="the organisation's enrollment key")
    login.add_argument(
        "--target", choices=["punchclock", "activitywatch"], default="punchclock"
    )
    login.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http:// to another computer (not recommended)",
    )
    login.set_defaults(handler=_login)
    logout = actions.add_parser("logout", help="forget the server and its token")
    logout.set_defaults(handler=_logout)


def _sync(args: argparse.Namespace) -> int:
    from agent.context import Context
    from sync.outbox import Outbox

    ctx = Context.open()
    if args.status:
        return _status(ctx, args.json)
    if args.retry:
        released = Outbox(ctx.store).release_quarantined()
        _say(f"{released} quarantined record(s) put back in line.")
    return _once(ctx)


def _once(ctx: Any) -> int:
    from sync.errors import SyncError
    from sync.service import build_uploader, fetch_pushed, upload_lock

    try:
        uploader = build_uploader(ctx.paths, ctx.settings.sync, ctx.store, ctx.clock)
    except SyncError as error:
        raise SyncCommandError(str(error)) from error
    try:
        with upload_lock(ctx.paths):
            pushed = fetch_pushed(uploader.target, ctx.paths, ctx.store, ctx.clock)
            report = uploader.run(force=True)
    finally:
        uploader.target.close()

    _say(
        f"Uploaded {report.stored} new, {report.duplicate} already there, "
        f"{report.screenshots} screenshot(s); {report.rejected} quarantined."
    )
    for line in report.rejections:
        _say(f"  quarantined: {line}")
    state = uploader.state
    _say(f"Waiting: {state.waiting}; quarantined in total: {state.quarantined}.")
    if pushed is not None and pushed.changed:
        _say(_pushed_line(pushed))
    if report.error:
        raise SyncCommandError(f"upload stopped: {report.error}")
    return 0


def _pushed_line(pushed: Any) -> str:
    parts = []
    if pushed.policy_changed:
        parts.append("a new policy")
    for words, names in (
        ("projects/tasks added", pushed.added),
        ("offered again", pushed.offered_again),
        ("archived", pushed.archived),
    ):
        if names:
            parts.append(f"{words}: {', '.join(names)}")
    return "From the server: " + "; ".join(parts) + "."


def _status(ctx: Any, as_json: bool) -> int:
    from sync.outbox import Outbox
    from sync.service import read_state
    from sync.tokens import TokenStore

    outbox = Outbox(ctx.store)
    counts = outbox.counts(ctx.clock.now())
    state = read_state(ctx.store) or {}
    settings = ctx.settings.sync
    facts = {
        "server": settings.server_url or None,
        "target": settings.target,
        "token_kept_in": TokenStore(ctx.paths.config_dir).location(),
        "waiting": counts.waiting,
        "quarantined": counts.quarantined,
        "last_success": state.get("last_success"),
        "last_attempt": state.get("last_attempt"),
        "last_error": state.get("last_error"),
        "next_attempt": state.get("next_attempt"),
        "offline": state.get("offline", False),
        "quarantined_records": [
            {"kind": q.kind, "id": str(q.record_id), "reason": q.reason}
            for q in outbox.quarantined()[:50]
        ],
    }
    if as_json:
        _say(json.dumps(facts, ensure_ascii=False))
        return 0

    _say(f"Server: {facts['server'] or 'none (everything stays on this computer)'}")
    if facts["server"]:
        _say(f"Kind: {facts['target']}; token kept in {facts['token_kept_in']}")
    _say(f"Waiting: {counts.waiting}; quarantined: {counts.quarantined}")
    _say(f"Last success: {facts['last_success'] or 'never'}")
    if facts["last_error"]:
        _say(f"Last error: {facts['last_error']}")
        if facts["next_attempt"]:
            _say(f"Next attempt: {facts['next_attempt']}")
    for item in facts["quarantined_records"]:
        _say(f"  quarantined {item['kind']} {item['id']}: {item['reason']}")
    if counts.quarantined:
        _say("Fix the cause, then `punchclock sync --retry`.")
    return 0


def _login(args: argparse.Namespace) -> int:
    from agent.context import Context
    from agent.settings import save_settings
    from sync.signin import SignIn, sign_in

    ctx = Context.open()

    def remember(request: SignIn) -> None:
        sync = replace(
            ctx.settings.sync,
            server_url=request.url,
            target=request.target,
            allow_insecure_http=request.allow_insecure_http,
        )
        save_settings(ctx.paths, replace(ctx.settings, sync=sync))

    if args.target == "punchclock" and not args.key:
        raise UserError("--key is needed: the enrollment key from your lead")
    request = SignIn(args.url, args.key, args.target, args.allow_insecure_http)
    done = sign_in(ctx.paths, ctx.store, ctx.clock.now, request, remember)
    where = done.token_kept_in
    _say(f"Signed in to {done.url} ({done.target}); token kept in {where}.")
    if done.queued:
        _say(f"{done.queued} record(s) from before the sign-in are queued for upload.")
    if done.token_in_file:
        sys.stderr.write(
            "Note: no OS keyring is available, so the token is in a file only "
            "you can read. Anyone with your account's access can use it.\n"
        )
    return 0


def _logout(_: argparse.Namespace) -> int:
    from agent.context import Context
    from agent.settings import save_settings
    from agent.store.outbox import stop_queueing
    from sync.tokens import TokenStore

    ctx = Context.open()
    url = ctx.settings.sync.server_url
    if url:
        TokenStore(ctx.paths.config_dir).delete(url)
    sync = replace(ctx.settings.sync, server_url="")
    save_settings(ctx.paths, replace(ctx.settings, sync=sync))
    with ctx.store.write() as session:
        stop_queueing(session)
    _say("Signed out; nothing new is queued for upload, and what waits")
    _say("stays on this computer until you sign in again.")
    return 0


def _say(text: str = "") -> None:
    """CLI output (the one place this module writes to the terminal)."""
    sys.stdout.write(text + "\n")
