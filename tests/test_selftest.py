"""``punchclock --self-test``, run from source: one line per part, exit status.

The frozen builds run the same command (build_scripts/frozen_check.py and
the hosted-CI workflow); here it proves that the checks themselves pass on a
healthy install and fail, with a reason, on a broken one.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from agent import selftest
from agent.cli import main
from agent.selftest import PartFailed, run_self_test

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))
PARTS = [
    "store", "resources", "tzdata", "capture", "pynput", "mss", "pillow",
    "httpx", "scheduler", "keyring", "qt",
]  # fmt: skip


def _lines(text: str) -> dict[str, str]:
    """Part name -> its mark ("ok" or "FAIL")."""
    marks = {}
    for line in text.splitlines():
        mark, _, rest = line.partition(" ")
        if mark in ("ok", "FAIL"):
            marks[rest.split()[0]] = mark
    return marks


@pytest.mark.slow
def test_console_script_passes_every_part(punchclock_home: Path) -> None:
    result = subprocess.run(
        [PUNCHCLOCK, "--self-test"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert _lines(result.stdout) == dict.fromkeys(PARTS, "ok")
    assert "self-test: 11 parts, all passed" in result.stdout
    assert "from source" in result.stdout.splitlines()[0]
    # The store part works on scratch data, never the worker's.
    assert list(punchclock_home.iterdir()) == []


def test_parts_can_be_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--self-test", "store", "tzdata"]) == 0

    out = capsys.readouterr().out
    assert _lines(out) == {"store": "ok", "tzdata": "ok"}
    assert "schema" in out


def test_unknown_part_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--self-test", "teleporter"]) == 2

    assert "no self-test part teleporter" in capsys.readouterr().err


def test_dangling_ssl_cert_file_fails_httpx(tmp_path: Path) -> None:
    out = io.StringIO()
    environ = {**os.environ, "SSL_CERT_FILE": str(tmp_path / "gone.pem")}

    status = run_self_test(["httpx"], out, environ)

    assert status == 1
    line = next(x for x in out.getvalue().splitlines() if x.startswith("FAIL"))
    assert "httpx" in line
    assert "SSL_CERT_FILE" in line
    assert "1 failed (httpx)" in out.getvalue()


def test_qt_abort_in_the_child_is_one_failed_line() -> None:
    out = io.StringIO()
    environ = {**os.environ, "QT_QPA_PLATFORM": "no-such-platform"}

    status = run_self_test(["resources", "qt"], out, environ)

    assert status == 1
    assert _lines(out.getvalue()) == {"resources": "ok", "qt": "FAIL"}
    assert "QT_DEBUG_PLUGINS=1" in out.getvalue()


def test_a_hanging_part_fails_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hangs(_: selftest.Env) -> str:
        release.wait(10)
        return "late"

    def broken(_: selftest.Env) -> str:
        raise PartFailed("the widget is missing")

    monkeypatch.setattr(selftest, "PART_TIMEOUT_S", 0.2)
    monkeypatch.setattr(selftest, "_checks", lambda: {"hang": hangs, "bad": broken})
    out = io.StringIO()
    try:
        status = run_self_test((), out)
    finally:
        release.set()

    assert status == 1
    text = out.getvalue()
    assert "FAIL  hang       did not finish in 0 s" in text
    assert "FAIL  bad        the widget is missing" in text


def test_modules_are_found_without_importing_them() -> None:
    # pynput's X back end cannot be imported without a display; the check
    # looks for it without running pynput's package code.
    before = set(sys.modules)

    assert selftest._present("pynput.keyboard._xorg")
    assert not selftest._present("pynput.keyboard._teleport")
    assert not selftest._present("no_such_package.sub")
    assert not {m for m in set(sys.modules) - before if m.startswith("pynput")}


@pytest.mark.linux  # mss refuses through an X display nobody serves
@pytest.mark.parametrize(
    ("platform", "mark"), [("darwin", "ok"), ("win32", "ok"), ("linux", "FAIL")]
)
def test_a_refused_grab_fails_only_on_x11(
    platform: str, mark: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A display nobody serves: mss's real connection attempt is refused, as
    # macOS refuses a grab without the Screen Recording permission.
    monkeypatch.setenv("DISPLAY", ":987")
    environ = {"DISPLAY": ":987", "XDG_SESSION_TYPE": "x11"}
    env = selftest.Env(environ=environ, platform=platform, scratch=tmp_path)

    result = selftest._run_part("mss", selftest.check_mss, env)

    assert ("ok" if result.ok else "FAIL") == mark, result.detail
    assert "Cannot connect to display" in result.detail
    assert ("refused a grab" in result.detail) == (mark == "ok")
