"""Logging at the edge: private rotating file, level from the environment,
crashes logged with their traceback."""

from __future__ import annotations

import logging
import os
import stat
import sys
import threading

import pytest

from agent.logs import PrivateRotatingFileHandler, configure_logging
from agent.paths import Paths

log = logging.getLogger("tests.logs")


@pytest.fixture
def paths() -> Paths:
    return Paths.from_env()


def own_handlers() -> list[logging.Handler]:
    module_handlers = [
        h for h in logging.getLogger().handlers if type(h).__module__ == "agent.logs"
    ]
    return module_handlers


def flush() -> None:
    for handler in own_handlers():
        handler.flush()


def test_nothing_is_configured_at_import(paths: Paths) -> None:
    assert own_handlers() == []
    assert not paths.log_dir.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.posix
def test_log_file_is_created_0600_despite_an_open_umask(paths: Paths) -> None:
    previous = os.umask(0)
    try:
        log_file = configure_logging(paths, console=False)
    finally:
        os.umask(previous)

    assert log_file == paths.log_file
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.log_dir.stat().st_mode) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.posix
def test_rotated_files_stay_0600(paths: Paths) -> None:
    configure_logging(paths, console=False)
    [handler] = [h for h in own_handlers() if isinstance(h, PrivateRotatingFileHandler)]
    handler.maxBytes = 200

    for number in range(20):
        log.info("line %d of a log that rotates", number)

    rotated = sorted(paths.log_dir.iterdir())
    assert len(rotated) > 1
    assert {stat.S_IMODE(p.stat().st_mode) for p in rotated} == {0o600}


def test_records_reach_the_file_with_their_level(paths: Paths) -> None:
    configure_logging(paths, "INFO", console=False)

    log.info("clocked in on %s", "Acme")
    log.debug("a tick nobody needs")
    flush()

    text = paths.log_file.read_text("utf-8")
    assert "INFO" in text
    assert "tests.logs: clocked in on Acme" in text
    assert "a tick nobody needs" not in text


def test_environment_level_wins_over_the_setting(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUNCHCLOCK_LOG_LEVEL", "debug")

    configure_logging(paths, "WARNING", console=False)
    log.debug("a tick worth seeing")
    flush()

    assert "a tick worth seeing" in paths.log_file.read_text("utf-8")


def test_bad_environment_level_warns_and_uses_info(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUNCHCLOCK_LOG_LEVEL", "chatty")

    configure_logging(paths, console=False)
    log.info("still logging")
    log.debug("but not debug")
    flush()

    text = paths.log_file.read_text("utf-8")
    assert "WARNING" in text
    assert "PUNCHCLOCK_LOG_LEVEL='chatty' is not a log level" in text
    assert "still logging" in text
    assert "but not debug" not in text


def test_calling_twice_does_not_double_handlers(paths: Paths) -> None:
    configure_logging(paths, console=True)
    configure_logging(paths, console=True)

    log.warning("said once")
    flush()

    assert len(own_handlers()) == 2
    assert paths.log_file.read_text("utf-8").count("said once") == 1


def test_console_shows_warnings_only_by_default(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(paths, console=True)

    log.info("lifecycle detail")
    log.warning("capture degraded")

    err = capsys.readouterr().err
    assert "capture degraded" in err
    assert "lifecycle detail" not in err


def test_console_at_info_for_the_foreground_agent(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(paths, "WARNING", console=True, console_level="INFO")

    log.info("agent started")

    assert "agent started" in capsys.readouterr().err


def test_excepthook_logs_the_crash_with_traceback(paths: Paths) -> None:
    configure_logging(paths, console=True)

    try:
        raise RuntimeError("store exploded")
    except RuntimeError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    flush()

    text = paths.log_file.read_text("utf-8")
    assert "CRITICAL" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: store exploded" in text


def test_excepthook_without_console_hands_the_crash_on(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda _t, value, _tb: seen.append(value))
    configure_logging(paths, console=False)
    configure_logging(paths, console=False)

    error = RuntimeError("visible crash")
    sys.excepthook(RuntimeError, error, None)

    assert seen == [error]


def test_thread_crash_is_logged_with_the_thread_name(paths: Paths) -> None:
    configure_logging(paths, console=True)

    def crash() -> None:
        raise ValueError("sampler failed")

    thread = threading.Thread(target=crash, name="focus-sampler")
    thread.start()
    thread.join()
    flush()

    text = paths.log_file.read_text("utf-8")
    assert "uncaught exception in thread focus-sampler" in text
    assert "ValueError: sampler failed" in text
