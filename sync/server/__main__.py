"""``punchclock-server`` (or ``python -m sync.server``): run the reference server.

One command: it creates the database's tables where they are missing, binds
``--host``/``--port`` (port 0 picks a free one), prints where it listens and
how an agent signs in, then serves until Ctrl+C or SIGTERM.

The enrollment key (for agents signing in) and the lead token (for the read
API) come from the environment, ``PUNCHCLOCK_SERVER_ENROLLMENT_KEY`` and
``PUNCHCLOCK_SERVER_LEAD_TOKEN``; when unset, new ones are made and printed
once at start. Put it behind a TLS-terminating proxy off loopback: agents
refuse plain HTTP to other hosts.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import socket
import sys
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

ENROLLMENT_ENV = "PUNCHCLOCK_SERVER_ENROLLMENT_KEY"
LEAD_ENV = "PUNCHCLOCK_SERVER_LEAD_TOKEN"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="punchclock-server",
        description="Punchclock reference sync server (protocol v1 and a read API).",
    )
    parser.add_argument(
        "--database-url",
        default="sqlite:///punchclock-server.db",
        help="SQLAlchemy URL: sqlite:///FILE (the default, in this directory) "
        "or postgresql+psycopg://USER:PASSWORD@HOST/DB",
    )
    parser.add_argument(
        "--files", default="punchclock-files", help="where screenshots are kept"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=8750, help="port to listen on (0: any free one)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL)"
    )
    args = parser.parse_args(argv)

    try:
        import uvicorn

        from sync.server.db import make_engine
    except ImportError as error:
        sys.stderr.write(
            f"punchclock-server: {error.name} is missing; install the server "
            "extra: pip install 'punchclock[server]'\n"
        )
        return 2

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ["PUNCHCLOCK_SERVER_DATABASE_URL"] = args.database_url
    os.environ["PUNCHCLOCK_SERVER_FILES"] = str(Path(args.files).absolute())
    made = {
        variable: _secret(variable, what)
        for variable, what in (
            (ENROLLMENT_ENV, "enrollment key"),
            (LEAD_ENV, "lead token"),
        )
    }

    # Create the tables once, before workers race to; a bad URL or an
    # unreachable database is one message, not a traceback.
    try:
        make_engine(args.database_url).dispose()
    except Exception as error:  # SQLAlchemy and driver errors alike
        sys.stderr.write(f"punchclock-server: the database cannot be used: {error}\n")
        return 2

    try:
        listener = _bind(args.host, args.port)
    except OSError as error:
        sys.stderr.write(
            f"punchclock-server: cannot listen on {args.host}:{args.port}: "
            f"{error.strerror or error}\n"
        )
        return 2
    url = _url(args.host, listener.getsockname()[1])
    _say(f"Punchclock server listening on {url} (database: {_safe(args)})")
    key = made[ENROLLMENT_ENV] or f"${ENROLLMENT_ENV}"
    _say("Sign an agent in (each agent gets its own token):")
    _say(f"  punchclock sync login {url} --key {key}")
    _say(
        f"Lead read API: Authorization: Bearer <lead token>, e.g. {url}/v1/lead/agents"
    )
    # uvicorn stops gracefully on SIGTERM and then raises the signal again;
    # this makes that a clean exit (0), as for Ctrl+C.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        "sync.server.app:app_from_env",
        factory=True,
        fd=listener.fileno(),
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    return 0


def _stopped(signum: int, _: FrameType | None) -> None:
    raise SystemExit(0)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts, so the address
    printed is the one in use (and port 0 can be told)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        # Listening from here: a client early on waits in the backlog
        # instead of being refused while the app loads.
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _safe(args: argparse.Namespace) -> str:
    """The database URL without its password."""
    url: str = args.database_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, where = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}@{where}"
    return url


def _secret(variable: str, what: str) -> str | None:
    """The value from the environment (None returned: not made here), or a
    new one, printed once."""
    value = os.environ.get(variable, "").strip()
    if value:
        return None
    value = secrets.token_urlsafe(24)
    os.environ[variable] = value
    # Printed once, on purpose: the operator needs it and it is not logged.
    _say(f"New {what} (set {variable} to keep it across restarts): {value}")
    return value


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
