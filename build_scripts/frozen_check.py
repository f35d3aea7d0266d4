"""Runs a frozen build's tray app and CLI and checks what they did.

    .venv/bin/python build_scripts/frozen_check.py dist/punchclock/punchclock
    python build_scripts/frozen_check.py --own-desktop \
        --cli dist/punchclock/punchclock-cli.exe dist/punchclock/Punchclock.exe

On Linux, on Xvfb + openbox + trayer (started as tests/desktop.py does); with
``--own-desktop``, on the desktop of this session (the Windows and macOS CI
runners have one). With a fresh PUNCHCLOCK_HOME:

1. ``punchclock --self-test`` must pass;
2. the frozen tray app starts and shows its icon (seen in the tray host on
   the virtual desktop; on the own desktop, the app's "tray icon shown" log
   line);
3. consent is given and a timer started with the frozen CLI
   (``start X --create``); ``status --json`` shows it running;
4. after the app has run for RUN_SECONDS, ``stop``; the app is still alive;
5. ``report --format json`` has the project with about the time it ran;
6. the app ends cleanly on SIGTERM (on Windows, which has no SIGTERM for a
   windowed program, it is terminated) and its log holds no traceback.

Prints one line per step; exits non-zero at the first failure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUN_SECONDS = 30.0
TRAY_TIMEOUT_S = 20.0
PROJECT = "Frozen check"
WINDOWS = sys.platform == "win32"


class CheckFailed(Exception):
    """A step went wrong; the message says which and how."""


@dataclass(frozen=True)
class Programs:
    """The frozen tray app and the command line (one program on Linux/macOS)."""

    tray: Path
    cli: Path


@dataclass(frozen=True)
class Desktop:
    """Where the app runs: its environment, and how to see its tray icon."""

    env: dict[str, str]
    wait_for_tray: Callable[[Path], None]


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("program", nargs="?", default="dist/punchclock/punchclock")
    parser.add_argument("--cli", help="the command line, where it is another program")
    parser.add_argument(
        "--own-desktop",
        action="store_true",
        help="run on this session's desktop instead of a virtual X desktop",
    )
    args = parser.parse_args(argv)
    programs = Programs(Path(args.program), Path(args.cli or args.program))
    missing = [str(p) for p in {programs.tray, programs.cli} if not p.is_file()]
    if missing:
        sys.stderr.write(f"frozen check: no program at {', '.join(missing)}\n")
        return 2
    programs = Programs(programs.tray.resolve(), programs.cli.resolve())

    # A file the ended app held a moment ago may not be deletable yet on Windows.
    scratch = tempfile.TemporaryDirectory(
        prefix="punchclock-frozen-", ignore_cleanup_errors=True
    )
    with scratch as tmp:
        home = Path(tmp) / "home"
        opened = own_desktop() if args.own_desktop else virtual_desktop()
        try:
            with opened as desktop:
                run_checks(programs, desktop, home)
        except CheckFailed as error:
            say(f"FAIL  {error}")
            _show_log(home)
            return 1
    say("frozen check: all passed")
    return 0


@contextlib.contextmanager
def virtual_desktop() -> Iterator[Desktop]:
    """Xvfb + openbox + trayer; the icon is looked for in trayer."""
    from tests.desktop import virtual_desktop_session
    from tests.ui.tray_probe import wait_for_tray_icon

    with virtual_desktop_session() as desktop:

        def wait_for_tray(home: Path) -> None:
            wait_for_tray_icon(desktop.display, timeout=TRAY_TIMEOUT_S)

        yield Desktop(dict(desktop.env), wait_for_tray)


@contextlib.contextmanager
def own_desktop() -> Iterator[Desktop]:
    """This session's desktop; the app's log says when its icon is shown."""
    yield Desktop(dict(os.environ), _wait_for_log_line)


def _wait_for_log_line(home: Path, line: str = "tray icon shown") -> None:
    deadline = time.monotonic() + TRAY_TIMEOUT_S
    while time.monotonic() < deadline:
        if line in _logs(home):
            return
        time.sleep(0.1)
    raise TimeoutError(f"no {line!r} in the app's log in {TRAY_TIMEOUT_S:.0f} s")


def run_checks(programs: Programs, desktop: Desktop, home: Path) -> None:
    env = {**desktop.env, "PUNCHCLOCK_HOME": str(home)}
    env.pop("QT_QPA_PLATFORM", None)

    test = _run(programs.cli, env, "--self-test", timeout=90)
    say(test.stdout.rstrip())
    if test.returncode != 0:
        raise CheckFailed(f"--self-test exited with {test.returncode}")

    _cli(programs.cli, env, "consent", "accept")
    started = time.monotonic()
    app = subprocess.Popen(
        [str(programs.tray)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=not WINDOWS,
    )
    try:
        _track(programs.cli, env, desktop, app, started)
    finally:
        _end(app)


def _track(
    program: Path,
    env: dict[str, str],
    desktop: Desktop,
    app: subprocess.Popen[bytes],
    started: float,
) -> None:
    home = Path(env["PUNCHCLOCK_HOME"])
    try:
        desktop.wait_for_tray(home)
    except TimeoutError as error:
        raise CheckFailed(f"tray icon: {error}") from error
    say(f"ok    tray icon shown {time.monotonic() - started:.2f} s after launch")

    clocked = time.monotonic()
    _cli(program, env, "start", PROJECT, "--create")
    status = json.loads(_cli(program, env, "status", "--json"))
    if status["state"] != "running" or status["project"] != PROJECT:
        raise CheckFailed(f"status after start: {status}")
    say(f"ok    timer started from the CLI: {status['state']} on {PROJECT!r}")

    time.sleep(max(0.0, RUN_SECONDS - (time.monotonic() - started)))
    if app.poll() is not None:
        raise CheckFailed(f"the app exited early with {app.returncode}")
    _cli(program, env, "stop")
    ran = time.monotonic() - clocked
    say(f"ok    app alive after {time.monotonic() - started:.0f} s; timer stopped")

    report = json.loads(_cli(program, env, "report", "--format", "json"))
    rows = {row["key"]: row for row in report["rows"]}
    seconds = rows.get(PROJECT, {}).get("seconds", 0)
    if not ran - 5 <= seconds <= ran + 2:
        raise CheckFailed(f"report has {seconds} s on {PROJECT!r}, ran {ran:.1f} s")
    say(
        f"ok    report: {seconds} s on {PROJECT!r} (clocked {ran:.1f} s), "
        f"total {report['total_seconds']} s"
    )

    _end(app)
    if not WINDOWS and app.returncode not in (0, -signal.SIGTERM):
        raise CheckFailed(f"the app ended with {app.returncode} on SIGTERM")
    if "Traceback" in _logs(home):
        raise CheckFailed("the app's log holds a traceback")
    say(f"ok    app ended with {app.returncode}; log clean")


def _logs(home: Path) -> str:
    return "".join(
        p.read_text(errors="replace") for p in (home / "logs").glob("*.log*")
    )


def _cli(program: Path, env: dict[str, str], *args: str) -> str:
    result = _run(program, env, *args, timeout=30)
    if result.returncode != 0:
        raise CheckFailed(
            f"punchclock {' '.join(args)} exited with {result.returncode}: "
            f"{result.stderr.strip()}"
        )
    return result.stdout


def _run(
    program: Path, env: dict[str, str], *args: str, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(program), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _end(app: subprocess.Popen[bytes]) -> None:
    if app.poll() is not None:
        return
    if WINDOWS:
        # A windowed program gets no console control event; Qt's own
        # shutdown is covered by the Linux and macOS runs.
        app.terminate()
        app.wait(timeout=10)
        return
    os.killpg(app.pid, signal.SIGTERM)
    try:
        app.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(app.pid, signal.SIGKILL)
        app.wait(timeout=5)


def _show_log(home: Path) -> None:
    for log in sorted((home / "logs").glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        say(f"--- last lines of {log.name}")
        say("\n".join(lines[-30:]))


if __name__ == "__main__":
    sys.exit(main())
