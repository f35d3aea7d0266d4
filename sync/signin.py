"""Signing this computer in to a server: one path for ``punchclock sync login``
and the tray's Settings dialog.

A sign-in checks the address, registers this store with the server using the
organisation's enrollment key (the Punchclock server; an ActivityWatch server
needs none), keeps the token it answers (the OS keyring, else a private file),
lets the caller write the server into its settings, and from then on queues
records for upload, the ones from before the sign-in too.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from agent import __version__
from agent.errors import PunchclockError, UserError
from agent.paths import Paths
from agent.settings import SyncTarget
from agent.store import Store

NO_TOKEN = "no token needed"
KEYRING = "the OS keyring"


class SignInError(PunchclockError):
    """The server refused the sign-in or could not be reached."""

    exit_code = 5


@dataclass(frozen=True)
class SignIn:
    """What the worker asked for."""

    url: str
    key: str | None = None
    target: SyncTarget = "punchclock"
    allow_insecure_http: bool = False


@dataclass(frozen=True)
class SignedIn:
    url: str
    target: SyncTarget
    token_kept_in: str
    """Where the token is: the OS keyring, a file, or :data:`NO_TOKEN`."""
    queued: int
    """Records from before the sign-in, now queued for upload."""

    @property
    def token_in_file(self) -> bool:
        return self.token_kept_in not in (KEYRING, NO_TOKEN)


Remember = Callable[[SignIn], None]
Now = Callable[[], datetime]


def sign_in(
    paths: Paths, store: Store, now: Now, request: SignIn, remember: Remember
) -> SignedIn:
    """Sign in as ``request`` says; ``remember`` writes the server into the
    caller's settings (``request.url`` is the checked address by then).

    Raises :class:`UserError` for a wrong address or a missing key, and
    :class:`SignInError` when the server refuses or cannot be reached.
    """
    from agent.settings import load_settings
    from agent.store.outbox import start_queueing
    from sync.errors import SyncError
    from sync.http import check_url

    try:
        url = check_url(request.url, allow_insecure_http=request.allow_insecure_http)
    except SyncError as error:
        raise UserError(str(error)) from error
    request = replace(request, url=url)

    where = NO_TOKEN
    if request.target == "punchclock":
        if not request.key:
            raise UserError("the enrollment key is needed: ask your lead for it")
        where = _register(paths, store, request, request.key)

    remember(request)
    # Screenshots in their deletion grace stay held until it ends.
    grace = load_settings(paths).settings.screenshots.grace_seconds
    with store.write() as session:
        queued = start_queueing(
            session, now(), screenshot_grace=timedelta(seconds=grace)
        )
    return SignedIn(url, request.target, where, queued)


def _register(paths: Paths, store: Store, request: SignIn, key: str) -> str:
    from sync.errors import SyncError
    from sync.targets.punchclock import register
    from sync.tokens import TokenStore

    try:
        answer = register(
            request.url,
            key,
            store.store_id,
            socket.gethostname(),
            __version__,
            allow_insecure_http=request.allow_insecure_http,
        )
    except SyncError as error:
        raise SignInError(f"sign-in failed: {error}") from error
    return TokenStore(paths.config_dir).save(request.url, answer["token"])
