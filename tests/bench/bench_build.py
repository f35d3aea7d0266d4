"""Benchmark of the Linux build (issue 11): size, build time, frozen start-up.

Run: .venv/bin/python tests/bench/bench_build.py [--launches 5] [--dist DIR]

1. Build time: PyInstaller over build_scripts/punchclock-linux.spec from a
   clean work directory (``--clean``), wall time. Skipped with ``--dist``,
   which measures an existing dist folder instead.
2. Size: the one-folder program on disk, its file count, and the tarball
   beside it (build_scripts/build-linux.sh) where there is one.
3. Start-up to the tray icon (P9): on a virtual desktop (Xvfb + openbox +
   trayer, tests/desktop.py), from ``Popen`` of the frozen program until
   trayer has embedded a mapped ``punchclock`` icon window (polled every
   10 ms through Xlib, tests/ui/tray_probe.py); the first launch creates the
   store, later ones open it. Compared with the same launch from source.
4. ``punchclock status`` of the frozen program (P9's 300 ms).
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.desktop import VirtualDesktop, virtual_desktop_session  # noqa: E402
from tests.ui.tray_probe import wait_for_tray_icon  # noqa: E402

SPEC = ROOT / "build_scripts" / "punchclock-linux.spec"
SOURCE_PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))
ICON_TARGET_S = 1.5
STATUS_TARGET_S = 0.3


def main() -> int:
    args = _parse()
    with tempfile.TemporaryDirectory(prefix="punchclock-bench-build-") as tmp:
        if args.dist:
            folder, build_s = Path(args.dist).resolve(), None
        else:
            folder, build_s = build(Path(tmp))
        program = folder / "punchclock"
        size, files = _size(folder)

        home = Path(tmp) / "home"
        with virtual_desktop_session() as desktop:
            env = {**desktop.env, "PUNCHCLOCK_HOME": str(home)}
            env.pop("QT_QPA_PLATFORM", None)
            _run([str(program), "consent", "accept"], env)
            frozen = [
                launch_to_icon(desktop, env, program) for _ in range(args.launches)
            ]
            source = [
                launch_to_icon(desktop, env, Path(SOURCE_PUNCHCLOCK))
                for _ in range(args.launches)
            ]
            status = [_timed([str(program), "status"], env) for _ in range(5)]

    say("Punchclock Linux build benchmark (issue 11)")
    if build_s is not None:
        say(f"  build time (PyInstaller, clean, one folder): {build_s:.0f} s")
    say(f"  size: {size / 2**20:.0f} MiB in {files} files ({folder})")
    for tarball in sorted(folder.parent.glob("punchclock-*-linux-*.tar.gz")):
        say(f"  packed: {tarball.stat().st_size / 2**20:.0f} MiB ({tarball.name})")
    warm = frozen[1:] or frozen
    say(
        f"  P9 launch to tray icon, frozen: first run {frozen[0]:.2f} s, then "
        f"median {statistics.median(warm):.2f} s, worst {max(warm):.2f} s over "
        f"{len(warm)} launches (target <= {ICON_TARGET_S} s: "
        f"{_verdict(max(frozen) <= ICON_TARGET_S)}); from source median "
        f"{statistics.median(source):.2f} s"
    )
    say(
        f"  P9 `punchclock status`, frozen: median {statistics.median(status):.3f} s "
        f"(target <= {STATUS_TARGET_S} s: "
        f"{_verdict(statistics.median(status) <= STATUS_TARGET_S)})"
    )
    return 0


def build(work: Path) -> tuple[Path, float]:
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
            "--log-level", "WARN", "--distpath", str(work / "dist"),
            "--workpath", str(work / "build"), str(SPEC),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return work / "dist" / "punchclock", time.monotonic() - started


def launch_to_icon(
    desktop: VirtualDesktop, env: dict[str, str], program: Path
) -> float:
    started = time.monotonic()
    app = subprocess.Popen(
        [str(program)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_tray_icon(desktop.display, timeout=20)
        return time.monotonic() - started
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(app.pid, signal.SIGKILL)
            app.wait()
        # The icon must be gone before the next launch is timed.
        _wait_icon_gone(desktop)


def _wait_icon_gone(desktop: VirtualDesktop) -> None:
    from tests.ui.tray_probe import find_tray_icon

    deadline = time.monotonic() + 5
    while find_tray_icon(desktop.display) is not None and time.monotonic() < deadline:
        time.sleep(0.02)


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    _run(command, env)
    return time.monotonic() - started


def _run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=60)


def _size(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files), len(files)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--dist", help="measure this dist folder instead of building")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
