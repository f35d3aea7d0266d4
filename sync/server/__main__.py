"""``python -m sync.server``: run the reference server.

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
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sync.server", description="Punchclock reference sync server"
    )
    parser.add_argument(
        "--database-url",
        default="sqlite:///punchclock-server.db",
        help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db",
    )
    parser.add_argument("--files", default="punchclock-files", help="screenshot dir")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8750)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ["PUNCHCLOCK_SERVER_DATABASE_URL"] = args.database_url
    os.environ["PUNCHCLOCK_SERVER_FILES"] = str(Path(args.files).absolute())
    for variable, what in (
        ("PUNCHCLOCK_SERVER_ENROLLMENT_KEY", "enrollment key"),
        ("PUNCHCLOCK_SERVER_LEAD_TOKEN", "lead token"),
    ):
        os.environ[variable] = _secret(variable, what)
    # Create the tables once, before workers race to.
    from sync.server.db import make_engine

    make_engine(args.database_url).dispose()
    uvicorn.run(
        "sync.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    return 0


def _secret(variable: str, what: str) -> str:
    value = os.environ.get(variable, "").strip()
    if value:
        return value
    value = secrets.token_urlsafe(24)
    # Printed once, on purpose: the operator needs it and it is not logged.
    sys.stdout.write(f"{what} (set {variable} to keep it): {value}\n")
    return value


if __name__ == "__main__":
    sys.exit(main())
