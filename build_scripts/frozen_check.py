"""Runs the frozen Linux build on a virtual desktop and checks what it did.

    .venv/bin/python build_scripts/frozen_check.py dist/punchclock/punchclock

On Xvfb + openbox + trayer (started as tests/desktop.py does), with a fresh
PUNCHCLOCK_HOME:

1. ``punchclock --self-test`` must pass;
2. the frozen tray app starts and its icon appears in the tray host;
3. consent is given and a timer started with the frozen CLI
   (``start X --create``); ``status --json`` shows it running;
4. after the app has run for RUN_SECONDS, ``stop``; the app is still alive;
5. ``report --format json`` has the project with about the time it ran;
6. the app ends cleanly on SIGTERM and its log holds no traceback.

Prints one line per step; exits non-zero at the first failure.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop import VirtualDesktop, virtual_desktop_session  # noqa: E402
from tests.ui.tray_probe import wait_for_tray_icon  # noqa: E402

RUN_SECONDS = 30.0
PROJECT = "Frozen check"


class CheckFailed(Exception):
    """A step went wrong; the message says which and how."""


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main() -> int:
    program = Path(sys.argv[1] if len(sys.argv) > 1 else "dist/punchclock/punchclock")
    if not program.is_file():
        sys.stderr.write(f"frozen check: no program at {program}\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="punchclock-frozen-") as tmp:
        home = Path(tmp) / "home"
        try:
            with virtual_desktop_session() as desktop:
                run_checks(program.resolve(), desktop, home)
        except CheckFailed as error:
            say(f"FAIL  {error}")
            _show_log(home)
            return 1
    say("frozen check: all passed")
    return 0


def run_checks(program: Path, desktop: VirtualDesktop, home: Path) -> None:
    env = {**desktop.env, "PUNCHCLOCK_HOME": str(home)}
    env.pop("QT_QPA_PLATFORM", None)

    test = _run(program, env, "--self-test", timeout=60)
    say(test.stdout.rstrip())
    if test.returncode != 0:
        raise CheckFailed(f"--self-test exited with {test.returncode}")

    _cli(program, env, "consent", "accept")
    started = time.monotonic()
    app = subprocess.Popen(
        [str(program)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _track(program, env, desktop, app, started)
    finally:
        _end(app)


def _track(
    program: Path,
    env: dict[str, str],
    desktop: VirtualDesktop,
    app: subprocess.Popen[bytes],
    started: float,
) -> None:
    try:
        wait_for_tray_icon(desktop.display, timeout=20)
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
    if app.returncode not in (0, -signal.SIGTERM):
        raise CheckFailed(f"the app ended with {app.returncode} on SIGTERM")
    log_dir = Path(env["PUNCHCLOCK_HOME"]) / "logs"
    logs = "".join(p.read_text(errors="replace") for p in log_dir.glob("*.log*"))
    if "Traceback" in logs:
        raise CheckFailed("the app's log holds a traceback")
    say(f"ok    app ended with {app.returncode}; log clean")


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
    if app.poll() is None:
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
