"""What Punchclock creates is owner-only: folders 0700, files 0600 (README),
whatever the umask; folders the user made are left as they are."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.instance import InstanceLock
from agent.paths import Paths
from sync.service import upload_lock

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common umask 022, under which a plain mkdir gives 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes(top: Path) -> dict[str, int]:
    return {str(p.relative_to(top)): _mode(p) for p in sorted(top.rglob("*"))}


def test_a_fresh_home_and_everything_in_it_is_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    home = tmp_path / "fresh" / "home"
    env = {**os.environ, "PUNCHCLOCK_HOME": str(home)}
    done = subprocess.run(
        [PUNCHCLOCK, "projects", "add", "Acme"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    paths = Paths.under(home)
    with upload_lock(paths):
        pass
    lock = InstanceLock(paths.lock_file)
    lock.acquire()
    lock.release()

    assert _mode(tmp_path / "fresh") == 0o700
    assert _mode(home) == 0o700
    modes = _modes(home)
    assert "data/sync.lock" in modes
    assert "data/agent.lock" in modes
    assert "data/punchclock.db" in modes
    wrong = {
        name: oct(mode)
        for name, mode in modes.items()
        if mode != (0o700 if (home / name).is_dir() else 0o600)
    }
    assert wrong == {}


def test_a_folder_the_user_made_keeps_its_mode(
    tmp_path: Path, open_umask: None
) -> None:
    home = tmp_path / "mine"
    home.mkdir(mode=0o755)
    paths = Paths.under(home)
    paths.ensure()
    with upload_lock(paths):
        pass

    assert _mode(home) == 0o755
    for directory in paths.all_dirs():
        assert _mode(directory) == 0o700
    assert _mode(paths.data_dir / "sync.lock") == 0o600


def test_a_sync_lock_left_wide_open_is_tightened(paths: Paths) -> None:
    lock = paths.data_dir / "sync.lock"
    lock.touch()
    lock.chmod(0o644)
    with upload_lock(paths):
        assert _mode(lock) == 0o600
