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
from html.parser import HTMLParser
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


class TotalsPage(HTMLParser):
    """The totals tables of a page (``table#totals-GROUP``): group -> rows of
    cell texts; the summary paragraph; the attributes of body and svg."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.summary = ""
        self.attributes: dict[str, dict[str, str | None]] = {}
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None
        self._in_summary = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("body", "svg"):
            self.attributes[tag] = found
        if tag == "table" and (found.get("id") or "").startswith("totals-"):
            self._table = str(found["id"]).removeprefix("totals-")
            self.tables[self._table] = []
        elif tag == "tbody" and self._table:
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table:
            self.tables[self._table].append([])
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "p" and (
            found.get("id") == "summary" or found.get("class") == "summary"
        ):
            self._in_summary = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None
        elif tag == "p":
            self._in_summary = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_summary:
            self.summary += data
