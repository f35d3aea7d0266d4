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

    from sync.server.app import ServerConfig, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = ServerConfig(
        database_url=args.database_url,
        files_dir=Path(args.files),
        enrollment_key=_secret("PUNCHCLOCK_SERVER_ENROLLMENT_KEY", "enrollment key"),
        lead_token=_secret("PUNCHCLOCK_SERVER_LEAD_TOKEN", "lead token"),
    )
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
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
