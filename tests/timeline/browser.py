"""Headless Chromium (Debian's ``chromium``) for the tests of pages: the DOM
after the page's scripts ran, a screenshot, a PDF.

Each run gets a fresh profile and the flags that keep Chromium off the
network and quiet as root in a container. ``--virtual-time-budget`` lets the
page's fetches and timers finish before the DOM is dumped (virtual time
waits for network requests in flight).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run(url: str, *extra: str, budget_ms: int = 15_000, timeout: float = 90) -> str:
    """Chromium's stdout for ``url`` with ``extra`` flags; raises on failure."""
    executable = chromium()
    if executable is None:
        raise FileNotFoundError("chromium is not installed")
    with tempfile.TemporaryDirectory(prefix="punchclock-chromium-") as profile:
        result = subprocess.run(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"chromium exited {result.returncode}: {result.stderr[-2000:]}"
        )
    return result.stdout


def dump_dom(url: str) -> str:
    return run(url, "--dump-dom")


def screenshot(url: str, target: Path, size: tuple[int, int] = (1400, 1100)) -> None:
    run(url, f"--screenshot={target}", f"--window-size={size[0]},{size[1]}")


def print_to_pdf(url: str, target: Path) -> None:
    run(url, f"--print-to-pdf={target}", "--no-pdf-header-footer")
