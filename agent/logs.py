"""Logging, configured once at the edge (the CLI's and the app's start).

Modules only ever do ``log = logging.getLogger(__name__)``; this module sets
up where the records go: a rotating file in the log directory (mode 0600,
whatever the umask), optionally stderr, and excepthooks so that a crash in
any thread lands in the log with its traceback.

The file's level comes from ``PUNCHCLOCK_LOG_LEVEL`` if set, else from the
caller (the ``[logging] level`` setting), else INFO. The console has its own
level: warnings for CLI commands, INFO for ``punchclock agent``.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from agent.paths import Paths, ensure_private_dir, open_private

log = logging.getLogger(__name__)

LEVEL_ENV = "PUNCHCLOCK_LOG_LEVEL"

MAX_BYTES = 1_000_000
BACKUP_COUNT = 5

_FILE_FORMAT = (
    "%(asctime)s %(levelname)-7s %(process)d %(threadName)s %(name)s: %(message)s"
)
_CONSOLE_FORMAT = "%(levelname)s: %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that is created, and re-created, with mode 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = open_private(Path(self.baseFilename), append="a" in self.mode)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class _ConsoleHandler(logging.StreamHandler[IO[str]]):
    """Our stderr handler, told apart from handlers that others installed."""


def configure_logging(
    paths: Paths,
    level: str | int | None = None,
    *,
    console: bool,
    console_level: str | int = logging.WARNING,
    environ: Mapping[str, str] = os.environ,
) -> Path:
    """Send log records to the log file and, if ``console``, to stderr.

    ``level`` is the file's level unless ``PUNCHCLOCK_LOG_LEVEL`` overrides
    it. Calling again replaces the handlers this function installed, so it
    never doubles them. Returns the log file's path.
    """
    file_level, complaint = _resolve_level(level, environ)
    root = logging.getLogger()
    _remove_own_handlers(root)

    ensure_private_dir(paths.log_dir)
    file_handler = _file_handler(paths.log_file, file_level)
    root.addHandler(file_handler)
    lowest = file_level

    if console:
        console_handler = _console_handler(_level_number(console_level))
        root.addHandler(console_handler)
        lowest = min(lowest, console_handler.level)

    root.setLevel(lowest)
    # APScheduler logs every run of every job at INFO: once a second here,
    # which would push everything else out of the rotated files within hours.
    logging.getLogger("apscheduler").setLevel(max(lowest, logging.WARNING))
    logging.captureWarnings(True)
    _install_excepthooks(echo=not console)

    if complaint:
        log.warning("%s", complaint)
    log.debug("logging to %s at %s", paths.log_file, logging.getLevelName(file_level))
    return paths.log_file


def _resolve_level(
    level: str | int | None, environ: Mapping[str, str]
) -> tuple[int, str | None]:
    """The file's level, and a complaint when the environment's was unusable."""
    fallback = logging.INFO if level is None else _level_number(level)
    wanted = environ.get(LEVEL_ENV, "").strip()
    if not wanted:
        return fallback, None

    number = logging.getLevelNamesMapping().get(wanted.upper())
    if number is None:
        fallback_name = logging.getLevelName(fallback)
        return fallback, (
            f"{LEVEL_ENV}={wanted!r} is not a log level (use DEBUG, INFO, WARNING,"
            f" ERROR or CRITICAL); logging at {fallback_name}"
        )
    return number, None


def _level_number(level: str | int) -> int:
    if isinstance(level, int):
        return level

    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"{level!r} is not a log level")
    return number


def _file_handler(path: Path, level: int) -> logging.Handler:
    handler = PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    return handler


def _console_handler(level: int) -> logging.Handler:
    handler = _ConsoleHandler(sys.stderr)
    handler.setLevel(level)
    handler.addFilter(_quiet_alembic)
    handler.setFormatter(logging.Formatter(_CONSOLE_FORMAT))
    return handler


def _quiet_alembic(record: logging.LogRecord) -> bool:
    """Alembic's INFO lines (plugin set-up, each revision applied) are for the
    log file; on the console the first agent start would open with a screen
    of them. Its warnings and errors still show."""
    name = record.name
    alembic = name == "alembic" or name.startswith("alembic.")
    return not alembic or record.levelno >= logging.WARNING


def _remove_own_handlers(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if isinstance(handler, PrivateRotatingFileHandler | _ConsoleHandler):
            root.removeHandler(handler)
            handler.close()


# -- crashes ------------------------------------------------------------------


class _ExceptHook:
    """Logs an uncaught exception with its traceback.

    ``echo`` also hands it to the hook that was there before (Python's prints
    the traceback), for when no console handler shows the log on stderr.
    """

    def __init__(self, previous: Any, *, echo: bool) -> None:
        self.previous = previous
        self.echo = echo

    def __call__(
        self,
        exc_type: type[BaseException],
        exc_value: BaseException,
        exc_traceback: TracebackType | None,
    ) -> None:
        if not issubclass(exc_type, KeyboardInterrupt):
            log.critical(
                "uncaught exception, Punchclock stops",
                exc_info=(exc_type, exc_value, exc_traceback),
            )
        if self.echo or issubclass(exc_type, KeyboardInterrupt):
            self.previous(exc_type, exc_value, exc_traceback)


class _ThreadExceptHook:
    """Logs an exception that ended a thread, naming the thread."""

    def __init__(self, previous: Any, *, echo: bool) -> None:
        self.previous = previous
        self.echo = echo

    def __call__(self, args: threading.ExceptHookArgs) -> None:
        if issubclass(args.exc_type, SystemExit):
            return

        name = args.thread.name if args.thread else "unknown"
        log.critical(
            "uncaught exception in thread %s",
            name,
            exc_info=args.exc_value,
        )
        if self.echo:
            self.previous(args)


def _install_excepthooks(*, echo: bool) -> None:
    """Install the hooks, or update ours, keeping the original to chain to."""
    previous = sys.excepthook
    if isinstance(previous, _ExceptHook):
        previous = previous.previous
    sys.excepthook = _ExceptHook(previous, echo=echo)

    previous_thread = threading.excepthook
    if isinstance(previous_thread, _ThreadExceptHook):
        previous_thread = previous_thread.previous
    threading.excepthook = _ThreadExceptHook(previous_thread, echo=echo)
