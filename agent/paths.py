"""Where Punchclock keeps its files, and how it creates them privately.

:meth:`Paths.from_env` picks the platform's standard user directories
(platformdirs); ``PUNCHCLOCK_HOME=DIR`` puts everything under ``DIR`` instead,
which is what tests and portable installs use. Nothing touches the disk until
:meth:`Paths.ensure` is called.

Everything Punchclock writes is the worker's own business (R5): directories
are created 0700, files 0600, whatever the umask says. On Windows the mode
bits are mostly ignored; the per-user profile directories already keep other
users out.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "Punchclock"
HOME_ENV = "PUNCHCLOCK_HOME"

DIR_MODE = 0o700
FILE_MODE = 0o600


@dataclass(frozen=True)
class Paths:
    """The directories Punchclock uses, and the files derived from them."""

    data_dir: Path
    config_dir: Path
    log_dir: Path
    screenshots_dir: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Paths:
        """The paths for this user, or under ``PUNCHCLOCK_HOME`` when it is set.

        Only ``PUNCHCLOCK_HOME`` is read from ``environ``; platformdirs reads
        the XDG variables from the process environment itself.
        """
        home = environ.get(HOME_ENV, "").strip()
        if home:
            return cls.under(Path(home))

        return cls.platform_default()

    @classmethod
    def under(cls, home: Path) -> Paths:
        """Everything below one directory: ``home/data``, ``home/config``, ..."""
        home = home.expanduser().absolute()
        return cls(
            data_dir=home / "data",
            config_dir=home / "config",
            log_dir=home / "logs",
            screenshots_dir=home / "screenshots",
        )

    @classmethod
    def platform_default(cls) -> Paths:
        """The platform's standard per-user directories."""
        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        data_dir = dirs.user_data_path

        # Screenshots wait here for upload (or deletion by the worker); they
        # are application data, not the worker's own pictures.
        return cls(
            data_dir=data_dir,
            config_dir=dirs.user_config_path,
            log_dir=dirs.user_log_path,
            screenshots_dir=data_dir / "screenshots",
        )

    @property
    def database(self) -> Path:
        """The SQLite store."""
        return self.data_dir / "punchclock.db"

    @property
    def settings_file(self) -> Path:
        """The worker's own settings; the defaults ship with the code."""
        return self.config_dir / "settings.toml"

    @property
    def log_file(self) -> Path:
        """The current log file; rotated copies get ``.1``, ``.2``, ... appended."""
        return self.log_dir / "punchclock.log"

    @property
    def lock_file(self) -> Path:
        """The single-instance lock of the agent; it holds the agent's pid.

        It sits beside the database rather than in the runtime directory: the
        lock guards the store, so two agents must meet on the same lock
        whenever they would meet on the same database, whatever
        ``XDG_RUNTIME_DIR`` each session happens to have.
        """
        return self.data_dir / "agent.lock"

    def all_dirs(self) -> tuple[Path, ...]:
        """Every directory :meth:`ensure` creates."""
        return (self.data_dir, self.config_dir, self.log_dir, self.screenshots_dir)

    def ensure(self) -> None:
        """Create the directories, owner-only; safe to call any number of times."""
        for directory in self.all_dirs():
            ensure_private_dir(directory)


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` and make it 0700; parents it creates are 0700 too.

    A missing parent (a fresh ``PUNCHCLOCK_HOME``, ``~/.local/share``) is
    created owner-only, as the XDG base directory spec asks. A parent that
    already existed is the user's: its mode is left as they chose it.
    ``directory`` itself is Punchclock's own and is tightened even if it
    existed.
    """
    missing = [directory, *(p for p in directory.parents if not p.exists())]
    for path in reversed(missing):
        path.mkdir(mode=DIR_MODE, exist_ok=True)
        # mkdir's mode is filtered by the umask, and an existing directory
        # keeps whatever mode it had: set it explicitly.
        _tighten(path, DIR_MODE)


def secure_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if missing, or tighten it to 0600.

    The store calls this before SQLite opens the database (SQLite gives its
    -wal and -shm files the database file's mode), the log handler for every
    log file.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    os.close(fd)

    _tighten(path, FILE_MODE)
    return path


def open_private(path: Path, *, append: bool = True) -> int:
    """Open ``path`` for writing as a raw descriptor, creating it 0600."""
    flags = os.O_WRONLY | os.O_CREAT
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)

    _tighten(path, FILE_MODE)
    return fd


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, mode 0600.

    A crash at any moment leaves either the old file or the new one, never a
    half-written one: the data goes to a temporary file in the same
    directory, is flushed to disk, and is renamed over ``path``.
    """
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _tighten(path: Path, mode: int) -> None:
    """Set ``path``'s permission bits to ``mode`` if they are wider."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        log.info("tightening permissions of %s from %o to %o", path, current, mode)
        os.chmod(path, mode)
