"""What only the X11 back end meets: hostile window properties, windows
that vanish mid-read, a restarted window manager and X server, a browser
window with the extension reporting, and a Qt window beside an xterm."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

pytest.importorskip("Xlib", reason="X11 tests run on Linux only (python-xlib)")

from Xlib import X, Xatom
from Xlib.display import Display

from agent.clock import SystemClock
from capture.base import HealthState
from capture.browser.receiver import BrowserReceiver, ReceiverConfig
from capture.browser.urls import BrowserUrls
from capture.focus.x11 import X11FocusSource
from tests.capture.fakes import Recorder
from tests.desktop import VirtualDesktop

pytestmark = pytest.mark.x11


@pytest.fixture
def recorder(desktop: VirtualDesktop) -> Iterator[Recorder]:
    recorder = Recorder()
    source = X11FocusSource(SystemClock(), display=desktop.display)
    source.start(recorder, recorder.on_health)
    recorder.source = source  # type: ignore[attr-defined]
    yield recorder
    source.stop()


class OwnWindow:
    """A bare X window whose properties the test writes byte by byte."""

    def __init__(self, display_name: str) -> None:
        self.display = Display(display_name)
        root = self.display.screen().root
        self.window = root.create_window(10, 10, 200, 100, 0, X.CopyFromParent)
        self.window.set_wm_class("hostile", "HostileApp")
        self.id = int(self.window.id)

    def map(self) -> None:
        """Shows the window; properties set before are there from the start."""
        self.window.map()
        self.display.sync()

    def set_property(
        self, name: str, type_name: str, fmt: int, data: object, append: bool = False
    ) -> None:
        atom = self.display.intern_atom(name)
        kind = self.display.intern_atom(type_name)
        mode = X.PropModeAppend if append else X.PropModeReplace
        self.window.change_property(atom, kind, fmt, data, mode)
        self.display.sync()

    def destroy(self) -> None:
        self.window.destroy()
        self.display.sync()
        self.display.close()


def _activate_id(desktop: VirtualDesktop, window_id: int) -> None:
    desktop.xdotool("windowactivate", "--sync", str(window_id))


@pytest.mark.parametrize(
    ("net_name", "wm_name", "expected"),
    [
        (("UTF8_STRING", 8, b"caf\xc3\xa9 \xff\xfe broken"), None, "café �� broken"),
        (None, ("STRING", 8, b"na\xefve latin-1"), "naïve latin-1"),
        (("CARDINAL", 32, [1, 2, 3]), ("STRING", 8, b"fallback"), "fallback"),
        (("COMPOUND_TEXT", 8, b"compound"), None, "compound"),
        (("UTF8_STRING", 8, b""), None, ""),
    ],
    ids=["bad-utf8", "latin1-wm-name", "wrong-format", "compound-text", "empty"],
)
def test_titles_of_any_type_and_bytes_are_decoded(
    desktop: VirtualDesktop,
    recorder: Recorder,
    net_name: tuple[str, int, object] | None,
    wm_name: tuple[str, int, object] | None,
    expected: str,
) -> None:
    own = OwnWindow(desktop.display)
    try:
        if net_name:
            own.set_property("_NET_WM_NAME", *net_name)
        if wm_name:
            own.set_property("WM_NAME", *wm_name)
        own.map()
        _activate_id(desktop, own.id)
        # Raising while decoding would leave no such sample at all.
        sample = recorder.wait_for(
            lambda s: s.window_id == own.id and s.title == expected
        )
    finally:
        own.destroy()

    assert sample.app == "HostileApp"


def test_a_huge_title_is_read_bounded_and_cut(
    desktop: VirtualDesktop, recorder: Recorder
) -> None:
    own = OwnWindow(desktop.display)
    try:
        # 400 kB, written in pieces below the X request size limit.
        for _ in range(20):
            own.set_property(
                "_NET_WM_NAME", "UTF8_STRING", 8, "é".encode() * 10_000, True
            )
        own.map()
        _activate_id(desktop, own.id)
        sample = recorder.wait_for(lambda s: s.window_id == own.id and s.title_cut)
    finally:
        own.destroy()

    assert sample.title == "é" * 1000


def test_windows_vanishing_mid_read_never_stop_the_source(
    desktop: VirtualDesktop, recorder: Recorder
) -> None:
    for _ in range(15):
        own = OwnWindow(desktop.display)
        own.map()
        # Active window set straight on the root, then the window destroyed
        # before the source can read it: BadWindow on every read.
        with contextlib.suppress(subprocess.CalledProcessError):
            desktop.xdotool("windowactivate", str(own.id))
        own.destroy()
    survivor = desktop.open_xterm("survivor window")
    desktop.activate(survivor)

    sample = recorder.wait_for(lambda s: s.title == "survivor window")
    assert sample.app == "XTerm"
    assert recorder.source.health().ok  # type: ignore[attr-defined]


def test_a_reused_window_id_is_watched_afresh(
    desktop: VirtualDesktop, recorder: Recorder
) -> None:
    first = OwnWindow(desktop.display)
    first.set_property("_NET_WM_NAME", "UTF8_STRING", 8, b"first owner")
    first.map()
    _activate_id(desktop, first.id)
    recorder.wait_for(lambda s: s.title == "first owner")
    first.destroy()

    # A new client in the freed client slot gets the same window id.
    second = OwnWindow(desktop.display)
    if second.id != first.id:
        second.destroy()
        pytest.skip("the X server did not reuse the window id this time")
    try:
        second.set_property("_NET_WM_NAME", "UTF8_STRING", 8, b"second owner")
        second.map()
        _activate_id(desktop, second.id)
        recorder.wait_for(lambda s: s.title == "second owner")
        second.set_property("_NET_WM_NAME", "UTF8_STRING", 8, b"renamed later")
        renamed = recorder.wait_for(lambda s: s.title == "renamed later")
    finally:
        second.destroy()

    assert renamed.window_id == first.id


def test_window_manager_restart(desktop: VirtualDesktop, recorder: Recorder) -> None:
    one, two = desktop.open_xterm("wm one"), desktop.open_xterm("wm two")
    desktop.activate(one)
    recorder.wait_for(lambda s: s.title == "wm one")

    desktop.restart_wm()
    mark = recorder.mark()
    desktop.activate(two)
    after = recorder.wait_after(mark, lambda s: s.title == "wm two")
    desktop.activate(one)
    back = recorder.wait_after(mark, lambda s: s.title == "wm one")

    assert after.app == back.app == "XTerm"
    assert recorder.source.health().ok  # type: ignore[attr-defined]


def test_nothing_focused_when_the_active_window_is_cleared(
    desktop: VirtualDesktop, recorder: Recorder
) -> None:
    window = desktop.open_xterm("about to lose focus")
    desktop.activate(window)
    recorder.wait_for(lambda s: s.title == "about to lose focus")

    display = Display(desktop.display)
    try:
        root = display.screen().root
        active = display.intern_atom("_NET_ACTIVE_WINDOW")
        root.change_property(active, Xatom.WINDOW, 32, [0])
        display.sync()
        mark = recorder.mark()
        sample = recorder.wait_after(mark, lambda s: not s.focused)
    finally:
        display.close()

    assert sample.app is None
    assert sample.title == ""


def _free_display() -> int:
    for number in range(60, 200):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


def _xvfb(number: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.02)
    return proc


def _announce_window(display_name: str, title: str) -> Display:
    """Without a window manager: a window, named active on the root by hand."""
    display = Display(display_name)
    root = display.screen().root
    window = root.create_window(0, 0, 50, 50, 0, X.CopyFromParent)
    window.set_wm_class("reborn", "Reborn")
    window.change_property(
        display.intern_atom("_NET_WM_NAME"),
        display.intern_atom("UTF8_STRING"),
        8,
        title.encode(),
    )
    root.change_property(
        display.intern_atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW, 32, [window.id]
    )
    display.sync()
    return display


@pytest.mark.skipif(not os.path.isdir("/tmp/.X11-unix"), reason="no X socket dir")
@pytest.mark.usefixtures("virtual_desktop")  # starts its own Xvfb: skip without one
def test_x_server_restart_is_survived() -> None:
    number = _free_display()
    server = _xvfb(number)
    recorder = Recorder()
    source = X11FocusSource(SystemClock(), display=f":{number}", max_backoff=0.5)
    source.start(recorder, recorder.on_health)
    clients: list[Display] = []
    try:
        clients.append(_announce_window(f":{number}", "first life"))
        recorder.wait_for(lambda s: s.title == "first life")

        server.terminate()
        server.wait(5)
        lost = recorder.wait_for(lambda s: not s.focused)
        unhealthy = [h for h in recorder.health if h.state is HealthState.UNAVAILABLE]

        server = _xvfb(number)
        clients.append(_announce_window(f":{number}", "second life"))
        reborn = recorder.wait_for(lambda s: s.title == "second life", timeout=10)
    finally:
        source.stop()
        server.terminate()
        server.wait(5)

    assert lost.app is None
    assert unhealthy
    assert "lost" in unhealthy[0].reason
    assert reborn.app == "Reborn"
    assert source.health().ok


def test_browser_url_from_the_extension_while_the_browser_is_in_front(
    desktop: VirtualDesktop,
) -> None:
    receiver = BrowserReceiver(ReceiverConfig(port=0))
    receiver.start()
    recorder = Recorder()
    source = X11FocusSource(
        SystemClock(), urls=BrowserUrls(receiver), display=desktop.display
    )
    source.start(recorder)
    try:
        browser = _browser_xterm(desktop, "Pull requests - Chromium")
        shell = desktop.open_xterm("plain shell")
        desktop.activate(browser)
        recorder.wait_for(lambda s: s.title == "Pull requests - Chromium")

        _extension_reports(
            receiver.port, "https://github.com/o/r/pulls", "Pull requests"
        )
        with_url = recorder.wait_for(lambda s: s.url is not None)
        mark = recorder.mark()
        desktop.activate(shell)
        away = recorder.wait_after(mark, lambda s: s.title == "plain shell")
    finally:
        source.stop()
        receiver.stop()

    assert (with_url.app, with_url.domain) == ("Chromium", "github.com")
    assert with_url.url == "https://github.com/o/r/pulls"
    assert away.url is None
    assert away.domain is None


def _browser_xterm(desktop: VirtualDesktop, title: str) -> object:
    # An xterm whose window class says Chromium stands in for the browser.
    proc = subprocess.Popen(
        [
            "xterm",
            "-class",
            "Chromium",
            "-T",
            title,
            "-xrm",
            "Chromium*allowTitleOps: false",
            "-e",
            "sleep",
            "3600",
        ],
        env=desktop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return desktop._adopt(proc, title)


def _extension_reports(port: int, url: str, title: str) -> None:
    headers = {"Origin": "chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi"}
    base = f"http://127.0.0.1:{port}/api/0/buckets/aw-watcher-web-chrome"
    with httpx.Client(headers=headers) as client:
        client.post(
            base,
            json={
                "client": "aw-client-web",
                "type": "web.tab.current",
                "hostname": "h",
            },
        )
        reply = client.post(
            f"{base}/heartbeat?pulsetime=80",
            json={
                "timestamp": "2026-01-05T09:00:00Z",
                "duration": 0,
                "data": {
                    "url": url,
                    "title": title,
                    "audible": False,
                    "incognito": False,
                },
            },
        )
        reply.raise_for_status()


def test_qt_and_xterm_windows_on_the_desktop(
    desktop: VirtualDesktop, recorder: Recorder, artifacts_dir: Path
) -> None:
    term = desktop.open_xterm("xterm beside qt")
    qt = desktop.open_qt_window("qt beside xterm")
    desktop.activate(term)
    recorder.wait_for(lambda s: s.title == "xterm beside qt")
    desktop.activate(qt)
    qt_sample = recorder.wait_for(lambda s: s.title == "qt beside xterm")

    shot = desktop.screenshot(artifacts_dir / "focus-desktop.png")

    assert qt_sample.app == "PunchclockTestWindow"
    assert qt_sample.pid == qt.pid
    with Image.open(shot) as image:
        assert image.size == (1920, 1080)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
        assert colours is not None
        assert len(colours) > 2
        assert (46, 125, 50) in {c for _, c in colours}  # the Qt window's green
