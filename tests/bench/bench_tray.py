"""Benchmark of the tray app (issue 5): start-up to tray icon, memory, CPU.

Run: .venv/bin/python tests/bench/bench_tray.py [--minutes 10] [--launches 5]

Everything runs on a virtual desktop (Xvfb + openbox + trayer, see
tests/desktop.py) with the real ``punchclock`` console script:

1. P9 launch → tray icon: from ``Popen`` until trayer has embedded a mapped
   ``punchclock`` icon window (polled every 10 ms through Xlib); the first
   launch creates the store, later ones open it. Consent is given first, so
   capture starts as it would for a worker.
2. P2 resident memory and CPU while tracking: the timer runs (started from
   the CLI, the app follows within a second), focus moves between two
   xterms every 5.5 s; CPU is the app's user+system time over the run
   divided by the wall time, RSS is read every 5 s (last and peak).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.desktop import VirtualDesktop, virtual_desktop_session  # noqa: E402
from tests.ui.tray_probe import wait_for_tray_icon  # noqa: E402

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))
ICON_TARGET_S = 1.5
RSS_TARGET_MB = 120.0
CPU_TARGET_PCT = 0.3
ACTIVITYWATCH_CPU_PCT = 1.2
SWITCH_EVERY_S = 5.5
SAMPLE_EVERY_S = 5.0


def main() -> int:
    args = _parse()
    with tempfile.TemporaryDirectory(prefix="punchclock-bench-tray-") as tmp:
        home = Path(tmp) / "home"
        with virtual_desktop_session() as desktop:
            env = _env(desktop, home)
            _cli(env, "consent", "accept")
            launches = [launch_to_icon(desktop, env) for _ in range(args.launches)]
            cpu, rss_last, rss_peak = track(desktop, env, args.minutes)

    first, warm = launches[0], launches[1:] or launches
    print("Punchclock tray app benchmark (issue 5)")
    print(
        f"  P9 launch to tray icon: first run {first:.2f} s, then median "
        f"{statistics.median(warm):.2f} s, worst {max(warm):.2f} s over "
        f"{len(warm)} launches (target <= {ICON_TARGET_S} s: "
        f"{_verdict(max(launches) <= ICON_TARGET_S)})"
    )
    print(
        f"  P2 resident memory after {args.minutes:g} min of tracking: "
        f"{rss_last:.0f} MB, peak {rss_peak:.0f} MB "
        f"(target <= {RSS_TARGET_MB:.0f} MB: {_verdict(rss_peak <= RSS_TARGET_MB)})"
    )
    print(
        f"  CPU while tracking, focus switched every {SWITCH_EVERY_S} s: "
        f"{cpu:.3f} % of one core (target <= {CPU_TARGET_PCT} %: "
        f"{_verdict(cpu <= CPU_TARGET_PCT)}; ActivityWatch's watchers and "
        f"server together ~{ACTIVITYWATCH_CPU_PCT} %)"
    )
    return 0


def launch_to_icon(desktop: VirtualDesktop, env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = subprocess.Popen(
        [PUNCHCLOCK], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_tray_icon(desktop.display, timeout=30)
        return time.monotonic() - started
    finally:
        _stop(proc)


def track(
    desktop: VirtualDesktop, env: dict[str, str], minutes: float
) -> tuple[float, float, float]:
    """(CPU % of one core, last RSS MB, peak RSS MB) over ``minutes``."""
    proc = subprocess.Popen(
        [PUNCHCLOCK], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_tray_icon(desktop.display, timeout=30)
        _cli(env, "start", "Bench", "--create")
        windows = [desktop.open_xterm(f"bench window {n}") for n in (1, 2)]
        time.sleep(3)  # start-up work is not steady state

        app = psutil.Process(proc.pid)
        cpu_before, wall_before = _cpu(app), time.monotonic()
        peak = 0.0
        next_switch = next_sample = wall_before
        turn = 0
        while time.monotonic() - wall_before < minutes * 60:
            now = time.monotonic()
            if now >= next_switch:
                desktop.activate(windows[turn % 2])
                turn += 1
                next_switch += SWITCH_EVERY_S
            if now >= next_sample:
                peak = max(peak, _rss_mb(app))
                next_sample += SAMPLE_EVERY_S
            time.sleep(max(min(next_switch, next_sample) - time.monotonic(), 0.01))
        cpu = (_cpu(app) - cpu_before) / (time.monotonic() - wall_before) * 100
        last = _rss_mb(app)
        _cli(env, "stop")
        for window in windows:
            desktop.close(window)
        return cpu, last, max(peak, last)
    finally:
        _stop(proc)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _rss_mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 2**20


def _env(desktop: VirtualDesktop, home: Path) -> dict[str, str]:
    env = desktop.env
    env["PUNCHCLOCK_HOME"] = str(home)
    env["QT_QPA_PLATFORM"] = "xcb"
    env.pop("PUNCHCLOCK_LOG_LEVEL", None)
    return env


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([PUNCHCLOCK, *args], env=env, check=True, capture_output=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--launches", type=int, default=5)
    return parser.parse_args()


if __name__ == "__main__":
    os.environ.pop("QT_QPA_PLATFORM", None)
    sys.exit(main())
