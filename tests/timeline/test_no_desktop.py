"""``punchclock timeline`` with no desktop: one line saying so, exit 2.

Without DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM, Qt's xcb plugin would
abort the process (a core dump) blaming a missing libxcb-cursor0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="X11/Wayland check is Linux's"
)


def no_desktop_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PUNCHCLOCK_HOME"] = str(home)
    return env


def test_the_timeline_without_a_desktop_says_so(punchclock_home: Path) -> None:
    done = subprocess.run(
        [PUNCHCLOCK, "timeline"],
        env=no_desktop_env(punchclock_home),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("punchclock: no desktop to show the timeline on")
    assert "punchclock report --format html" in done.stderr
    assert "Traceback" not in done.stderr
    assert "xcb-cursor0" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
