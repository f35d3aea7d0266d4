"""A virtual X desktop for tests: Xvfb, openbox and a tray host.

``virtual_desktop`` (session scope) starts them once, sets DISPLAY, and
stops them in reverse order at the end; tests that need it are marked
``x11``. The helpers open real windows with known titles (xterm and a small
Qt window, each a process of its own), switch focus with xdotool and
restart the window manager. Recipe: shared/TESTING.md.

Also usable outside pytest (the focus benchmark starts its own desktop).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# One desktop, no key bindings, no wheel actions; a click focuses and raises.
# Debian's default config switches desktops on a wheel scroll, unmapping
# every window (shared/TESTING.md).
OPENBOX_RC = """<?xml version="1.0" encoding="UTF-8"?>
<openbox_config xmlns="http://openbox.org/3.4/rc">
  <focus>
    <focusNew>yes</focusNew>
    <followMouse>no</followMouse>
  </focus>
  <placement><policy>Smart</policy></placement>
  <desktops><number>1</number><firstdesk>1</firstdesk></desktops>
  <keyboard></keyboard>
  <mouse>
    <context name="Client">
      <mousebind button="Left" action="Press">
        <action name="Focus"/><action name="Raise"/>
      </mousebind>
    </context>
    <context name="Frame">
      <mousebind button="Left" action="Press">
        <action name="Focus"/><action name="Raise"/>
      </mousebind>
    </context>
    <context name="Titlebar">
      <mousebind button="Left" action="Press">
        <action name="Focus"/><action name="Raise"/>
      </mousebind>
    </context>
  </mouse>
</openbox_config>
"""

QT_WINDOW = Path(__file__).parent / "capture" / "qt_window.py"
READY_TIMEOUT = 10.0


class DesktopError(RuntimeError):
    """The virtual desktop did not come up."""


@dataclass
class TestWindow:
    """A window some test process shows; ``proc`` owns it."""

    __test__ = False

    proc: subprocess.Popen[bytes]
    window_id: int
    title: str

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class VirtualDesktop:
    """A running Xvfb + openbox + trayer, and helpers to drive them."""

    display: str
    workdir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    windows: list[TestWindow] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = self.display
        env.pop("WAYLAND_DISPLAY", None)
        env["XDG_SESSION_TYPE"] = "x11"
        return env

    # lifecycle

    @classmethod
    def start(cls) -> VirtualDesktop:
        missing = [
            t for t in ("Xvfb", "openbox", "trayer", "xdotool") if not shutil.which(t)
        ]
        if missing:
            raise FileNotFoundError(f"not installed: {', '.join(missing)}")
        workdir = Path(tempfile.mkdtemp(prefix="punchclock-desktop-"))
        xvfb, display = _start_xvfb()
        desktop = cls(display=display, workdir=workdir, procs={"xvfb": xvfb})
        try:
            desktop.start_wm()
            desktop._start_tray()
        except BaseException:
            desktop.stop()
            raise
        return desktop

    def stop(self) -> None:
        for window in list(self.windows):
            self.close(window)
        for name in reversed(list(self.procs)):
            _end(self.procs.pop(name))
        shutil.rmtree(self.workdir, ignore_errors=True)

    def start_wm(self) -> None:
        rc = self.workdir / "openbox-rc.xml"
        rc.write_text(OPENBOX_RC)
        self.procs["openbox"] = subprocess.Popen(
            ["openbox", "--config-file", str(rc)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_for(lambda: self._wm_check() is not None, "openbox")
        self._wait_for(self._windows_managed, "openbox managing the windows")

    def stop_wm(self) -> None:
        proc = self.procs.pop("openbox", None)
        if proc is not None:
            _end(proc)

    def restart_wm(self) -> None:
        """Kills the window manager and starts a new one, as a crash would."""
        self.stop_wm()
        self.start_wm()

    def _start_tray(self) -> None:
        self.procs["trayer"] = subprocess.Popen(
            [
                "trayer", "--edge", "top", "--align", "right",
                "--widthtype", "request", "--height", "32",
                "--SetDockType", "true", "--expand", "true",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_for(self._tray_owned, "trayer")

    # windows

    def open_xterm(self, title: str) -> TestWindow:
        proc = subprocess.Popen(
            [
                "xterm", "-T", title, "-geometry", "80x20",
                # Keep the title fixed: the shell may not retitle the window.
                "-xrm", "XTerm*allowTitleOps: false",
                "-e", "sleep", "3600",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return self._adopt(proc, title)

    def open_qt_window(self, title: str) -> TestWindow:
        proc = subprocess.Popen(
            [sys.executable, str(QT_WINDOW), title],
            env={**self.env, "QT_QPA_PLATFORM": "xcb"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self._adopt(proc, title)

    def _adopt(self, proc: subprocess.Popen[bytes], title: str) -> TestWindow:
        window = TestWindow(proc, self.find_window(f"^{title}$"), title)
        self.windows.append(window)
        return window

    def find_window(self, pattern: str) -> int:
        """Waits for a visible window whose title matches; returns its id.

        xdotool walks the whole window tree, and a window destroyed during the
        walk ends it with an X error (exit 1) even when the one sought is there,
        so a failed search is tried again until the deadline.
        """
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                out = self.xdotool("search", "--onlyvisible", "--name", pattern)
            except subprocess.CalledProcessError as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"no window titled {pattern!r} appeared: {error.stderr}"
                    ) from error
                time.sleep(0.05)
                continue
            return int(out.split()[0])

    def activate(self, window: TestWindow) -> tuple[float, float]:
        """Focuses the window; returns monotonic time before and after."""
        before = time.monotonic()
        self.xdotool("windowactivate", "--sync", str(window.window_id))
        return before, time.monotonic()

    def set_title(self, window: TestWindow, title: str) -> tuple[float, float]:
        before = time.monotonic()
        self.xdotool("set_window", "--name", title, str(window.window_id))
        window.title = title
        return before, time.monotonic()

    def close(self, window: TestWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)
        _end(window.proc)

    def active_window(self) -> int:
        return int(self.xdotool("getactivewindow").strip())

    def xdotool(self, *args: str) -> str:
        result = subprocess.run(
            ["xdotool", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT,
            check=True,
        )
        return result.stdout

    def screenshot(self, path: Path) -> Path:
        import mss
        import mss.tools

        with mss.MSS(display=self.display) as grabber:
            shot = grabber.grab(grabber.monitors[0])
            mss.tools.to_png(shot.rgb, shot.size, output=str(path))
        return path

    # readiness

    def _wm_check(self) -> int | None:
        from Xlib import X
        from Xlib.display import Display
        from Xlib.error import XError

        display = Display(self.display)
        try:
            atom = display.intern_atom("_NET_SUPPORTING_WM_CHECK")
            prop = display.screen().root.get_property(atom, X.AnyPropertyType, 0, 1)
            if prop is None or not len(prop.value):
                return None
            # A killed window manager leaves the property naming a dead window.
            window = display.create_resource_object("window", int(prop.value[0]))
            window.get_geometry()
            return int(prop.value[0])
        except XError:
            return None
        finally:
            display.close()

    def _windows_managed(self) -> bool:
        from Xlib import X
        from Xlib.display import Display

        display = Display(self.display)
        try:
            atom = display.intern_atom("_NET_CLIENT_LIST")
            prop = display.screen().root.get_property(atom, X.AnyPropertyType, 0, 4096)
            managed = set(prop.value) if prop is not None else set()
        finally:
            display.close()
        return all(w.window_id in managed for w in self.windows)

    def _tray_owned(self) -> bool:
        from Xlib.display import Display

        display = Display(self.display)
        try:
            atom = display.intern_atom("_NET_SYSTEM_TRAY_S0")
            owner = display.get_selection_owner(atom)
            return bool(owner) and int(getattr(owner, "id", owner)) != 0
        finally:
            display.close()

    def _wait_for(self, ready: object, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if callable(ready) and ready():
                return
            time.sleep(0.02)
        raise DesktopError(f"{what} did not become ready on {self.display}")


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb", "-displayfd", str(write_fd),
            "-screen", "0", "1920x1080x24", "-nolisten", "tcp",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd)
    except BaseException:
        _end(proc)
        raise
    finally:
        os.close(read_fd)
    return proc, f":{number}"


def _read_display_number(fd: int) -> int:
    data = b""
    deadline = time.monotonic() + READY_TIMEOUT
    while not data.endswith(b"\n") and time.monotonic() < deadline:
        chunk = os.read(fd, 16)
        if not chunk:
            break
        data += chunk
    if not data.strip():
        raise DesktopError("Xvfb did not report its display number")
    return int(data.strip())


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)


@contextlib.contextmanager
def virtual_desktop_session() -> Iterator[VirtualDesktop]:
    """Starts a desktop, points DISPLAY at it, and tears it down."""
    desktop = VirtualDesktop.start()
    saved = {
        k: os.environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")
    }
    os.environ.update({"DISPLAY": desktop.display, "XDG_SESSION_TYPE": "x11"})
    os.environ.pop("WAYLAND_DISPLAY", None)
    try:
        yield desktop
    finally:
        desktop.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# Markers by platform (pyproject.toml declares them). Windows and macOS CI
# runs every test these leave in; see .github/workflows/build.yml.
DESKTOP_FIXTURES = frozenset({"desktop", "virtual_desktop"})
LINUX_ONLY = ("x11", "linux")
XVFB_MISSING = "Xvfb is not installed (apt-get install xvfb openbox trayer xdotool)"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """A test on the virtual desktop is an x11 test, marked or not; skip
    what this platform cannot run, each with the reason."""
    for item in items:
        if DESKTOP_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.x11)
        reason = platform_skip_reason(
            {mark.name for mark in item.iter_markers()}, sys.platform
        )
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def platform_skip_reason(markers: set[str], platform: str) -> str | None:
    """Why a test with these markers cannot run on ``platform``, or None."""
    linux_only = [name for name in LINUX_ONLY if name in markers]
    if linux_only and not platform.startswith("linux"):
        return f"{linux_only[0]}: runs on Linux only (this is {platform})"
    if "posix" in markers and platform == "win32":
        return "posix: tests POSIX behaviour (signals, file modes) absent on Windows"
    return None


@pytest.fixture(scope="session")
def virtual_desktop() -> Iterator[VirtualDesktop]:
    """Xvfb + openbox + trayer for the whole session; skipped where absent.

    Not in CI (``CI`` set): there the desktop tools are installed by
    bootstrap.sh, and a missing one must fail, not skip a third of the suite.
    """
    if not shutil.which("Xvfb"):
        if os.environ.get("CI"):
            pytest.fail(f"{XVFB_MISSING}; CI installs it (build_scripts/)")
        pytest.skip(XVFB_MISSING)
    with virtual_desktop_session() as desktop:
        yield desktop


@pytest.fixture
def desktop(virtual_desktop: VirtualDesktop) -> Iterator[VirtualDesktop]:
    """The session desktop; windows a test opened are closed after it."""
    opened = list(virtual_desktop.windows)
    yield virtual_desktop
    for window in list(virtual_desktop.windows):
        if window not in opened:
            virtual_desktop.close(window)
    if "openbox" not in virtual_desktop.procs:
        virtual_desktop.start_wm()
