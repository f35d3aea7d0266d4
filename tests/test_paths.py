"""Where Punchclock keeps its files, and that it keeps them private."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from agent.paths import Paths, secure_file, write_private

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that grants everything, so only our own modes keep files private."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_home_overrides_every_directory(tmp_path: Path) -> None:
    paths = Paths.from_env({"PUNCHCLOCK_HOME": str(tmp_path)})

    assert paths.data_dir == tmp_path / "data"
    assert paths.config_dir == tmp_path / "config"
    assert paths.log_dir == tmp_path / "logs"
    assert paths.screenshots_dir == tmp_path / "screenshots"
    assert paths.database == tmp_path / "data" / "punchclock.db"
    assert paths.settings_file == tmp_path / "config" / "settings.toml"
    assert paths.log_file.parent == tmp_path / "logs"
    assert paths.lock_file.parent == tmp_path / "data"


def test_home_from_the_process_environment(punchclock_home: Path) -> None:
    assert Paths.from_env().data_dir == punchclock_home / "data"


def test_relative_home_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    paths = Paths.from_env({"PUNCHCLOCK_HOME": "portable"})

    assert paths.config_dir == tmp_path / "portable" / "config"


@pytest.mark.parametrize("environ", [{}, {"PUNCHCLOCK_HOME": ""}])
def test_defaults_are_the_platform_user_dirs(environ: dict[str, str]) -> None:
    paths = Paths.from_env(environ)

    assert paths.data_dir == platformdirs.user_data_path("Punchclock", False)
    assert paths.config_dir == platformdirs.user_config_path("Punchclock", False)
    assert paths.log_dir == platformdirs.user_log_path("Punchclock", False)
    assert paths.screenshots_dir.parent == paths.data_dir


def test_nothing_is_created_until_ensure(tmp_path: Path) -> None:
    paths = Paths.from_env({"PUNCHCLOCK_HOME": str(tmp_path / "portable")})
    assert not (tmp_path / "portable").exists()

    paths.ensure()

    for directory in paths.all_dirs():
        assert directory.is_dir()


@posix_only
@pytest.mark.usefixtures("open_umask")
@pytest.mark.posix
def test_ensure_creates_owner_only_dirs_and_is_idempotent(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "home")

    paths.ensure()
    paths.ensure()

    assert [mode(d) for d in paths.all_dirs()] == [0o700] * 4


@posix_only
@pytest.mark.posix
def test_ensure_tightens_an_existing_open_dir(tmp_path: Path) -> None:
    paths = Paths.under(tmp_path / "portable")
    paths.data_dir.parent.mkdir()
    paths.data_dir.mkdir()
    paths.data_dir.chmod(0o755)

    paths.ensure()

    assert mode(paths.data_dir) == 0o700


@posix_only
@pytest.mark.usefixtures("open_umask")
@pytest.mark.posix
def test_secure_file_creates_0600_and_keeps_content(tmp_path: Path) -> None:
    created = secure_file(tmp_path / "new.db")
    existing = tmp_path / "old.db"
    existing.write_bytes(b"keep me")
    existing.chmod(0o644)

    secure_file(existing)

    assert mode(created) == 0o600
    assert mode(existing) == 0o600
    assert existing.read_bytes() == b"keep me"


@posix_only
@pytest.mark.usefixtures("open_umask")
@pytest.mark.posix
def test_write_private_replaces_whole_file_0600(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    target = tmp_path / "config" / "settings.toml"
    target.write_bytes(b"old, longer content")

    write_private(target, b"new")

    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["settings.toml"]
