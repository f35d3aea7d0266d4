"""The wlroots focus source against a fake compositor on a Unix socket (the
wire protocol is the OS boundary) and against a real headless sway."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.clock import ManualClock, SystemClock
from capture.base import HealthState
from capture.focus import create_focus_source
from capture.focus.null import NullFocusSource
from capture.focus.privacy import FocusPrivacy
from capture.focus.wayland import NOT_EXPOSED
from capture.focus.wlroots import (
    ABSENT,
    ToplevelClient,
    WlrootsFocusSource,
    app_name,
    socket_path,
)
from tests.capture.fakes import Recorder
from tests.capture.wayland_peers import (
    HANDLE_DESTROY,
    WINDOW_APP_ID,
    FakeCompositor,
    QtWaylandWindow,
    Sway,
    SwayUnavailable,
    array,
    message,
    string,
    u32,
)

# Wayland sockets (AF_UNIX, absent on Windows; paths too long on macOS), sway.
pytestmark = pytest.mark.linux
FAST_RETRY = (0.05, 0.2)


@pytest.mark.parametrize(
    ("app_id", "name"),
    [
        ("org.gnome.Nautilus", "Nautilus"),
        ("org.mozilla.firefox", "firefox"),
        ("com.github.wwmm.easyeffects", "easyeffects"),
        ("foot", "foot"),
        ("gimp-2.10", "gimp-2.10"),
        ("org.kde.konsole.desktop", "konsole"),
        ("", None),
    ],
)
def test_app_name_is_readable(app_id: str, name: str | None) -> None:
    assert app_name(app_id) == name


def test_socket_path_follows_libwayland() -> None:
    run = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    assert socket_path(run) == Path("/run/user/1000/wayland-0")
    assert socket_path({**run, "WAYLAND_DISPLAY": "wayland-1"}) == Path(
        "/run/user/1000/wayland-1"
    )
    assert socket_path({"WAYLAND_DISPLAY": "/tmp/w.sock"}) == Path("/tmp/w.sock")
    assert socket_path({"WAYLAND_DISPLAY": "wayland-1"}) is None


def test_events_split_anywhere_are_reassembled() -> None:
    client = ToplevelClient()
    client.hello()  # registry 2, callback 3
    handle = 0xFF000000
    stream = (
        message(2, 0, u32(1) + string("zwlr_foreign_toplevel_manager_v1") + u32(3))
        + message(3, 0, u32(0))
        + message(4, 0, u32(handle))  # the manager, bound as object 4
        + message(handle, 0, string("Räksmörgås — notes"))
        + message(handle, 1, string("org.gnome.TextEditor"))
        + message(handle, 4, array([0, 2]))
        + message(handle, 5)
        + message(5, 0, u32(0))  # the second sync
    )
    for i in range(len(stream)):
        client.receive(stream[i : i + 1])

    assert client.ready
    assert client.advertised
    focused = client.focused()
    assert focused is not None
    assert (focused.title, focused.app_id) == (
        "Räksmörgås — notes",
        "org.gnome.TextEditor",
    )


# against the fake compositor


@pytest.fixture
def compositor(tmp_path: Path) -> Iterator[FakeCompositor]:
    fake = FakeCompositor(tmp_path / "wayland-fake").start()
    yield fake
    fake.stop()


@pytest.fixture
def running() -> Iterator[list[WlrootsFocusSource]]:
    sources: list[WlrootsFocusSource] = []
    yield sources
    for source in sources:
        source.stop()


def _start(
    fake: FakeCompositor,
    running: list[WlrootsFocusSource],
    privacy: FocusPrivacy | None = None,
) -> Recorder:
    source = WlrootsFocusSource(ManualClock(), privacy, None, fake.path, FAST_RETRY)
    running.append(source)
    recorder = Recorder()
    source.start(recorder, recorder.on_health)
    return recorder


def _env(path: Path) -> dict[str, str]:
    return {
        "XDG_SESSION_TYPE": "wayland",
        "WAYLAND_DISPLAY": str(path),
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
    }


class Samples:
    """Reads a recorder's samples in order, each at most once."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.pos = 0

    def next(
        self, predicate: Callable[[Any], bool] = lambda s: True, timeout: float = 5.0
    ) -> Any:
        """The first sample after the last one returned satisfying ``predicate``."""

        def unread(sample: Any) -> bool:
            later = self.recorder.samples[self.pos :]
            return any(sample is s for s in later) and predicate(sample)

        found = self.recorder.wait_for(unread, timeout)
        self.pos = (
            next(i for i, s in enumerate(self.recorder.samples) if s is found) + 1
        )
        return found


def _wait_health(
    recorder: Recorder, predicate: Callable[[Any], bool], timeout: float = 10.0
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        matching = [h for h in recorder.health if predicate(h)]
        if matching:
            return matching[-1]
        assert time.monotonic() < deadline, f"health never matched: {recorder.health}"
        time.sleep(0.01)


def test_factory_chooses_wlroots_where_the_global_is_advertised(
    compositor: FakeCompositor,
) -> None:
    source = create_focus_source(
        ManualClock(), environ=_env(compositor.path), platform="linux"
    )
    assert isinstance(source, WlrootsFocusSource)
    assert compositor.binds == 0  # the probe only read the registry


def test_compositor_without_the_global_gives_null_with_the_reason(
    tmp_path: Path, running: list[WlrootsFocusSource]
) -> None:
    fake = FakeCompositor(tmp_path / "wayland-plain", offer_manager=False).start()
    try:
        source = create_focus_source(
            ManualClock(), environ=_env(fake.path), platform="linux"
        )
        assert isinstance(source, NullFocusSource)
        assert source.health().reason.startswith(NOT_EXPOSED)

        # Started anyway (a compositor replaced after the factory chose):
        recorder = _start(fake, running)
        health = _wait_health(recorder, lambda h: h.reason)
    finally:
        fake.stop()

    assert health.state is HealthState.UNAVAILABLE
    assert health.reason == ABSENT
    assert "sway" in health.fix


def test_switch_retitle_and_close(
    compositor: FakeCompositor, running: list[WlrootsFocusSource]
) -> None:
    mail = compositor.open("Inbox - Mail", "org.gnome.Evolution", activated=True)
    editor = compositor.open("notes.txt", "org.gnome.TextEditor")
    recorder = _start(compositor, running)
    samples = Samples(recorder)
    first = samples.next(lambda s: s.focused)

    compositor.activate(editor)
    switched = samples.next()
    compositor.retitle(mail, "Inbox (1) - Mail")  # not in front: no sample
    compositor.retitle(editor, "notes.txt *")
    retitled = samples.next()
    editor_handle = compositor.handle_of(editor)
    compositor.close(editor)
    closed = samples.next()
    compositor.wait_for_request(editor_handle, HANDLE_DESTROY, 5)

    assert (first.app, first.title, first.wm_class, first.pid) == (
        "Evolution",
        "Inbox - Mail",
        "org.gnome.Evolution",
        None,
    )
    assert (switched.app, switched.title) == ("TextEditor", "notes.txt")
    assert (retitled.app, retitled.title) == ("TextEditor", "notes.txt *")
    assert closed.app is None
    # Each change once: the switch never showed "nothing focused" between.
    assert [s.title for s in recorder.samples] == [
        "Inbox - Mail",
        "notes.txt",
        "notes.txt *",
        "",
    ]
    assert recorder.health[-1].state is HealthState.WORKING
    assert recorder.threads == {"focus-wayland-wlroots"}


def test_changes_apply_on_done_only(
    compositor: FakeCompositor, running: list[WlrootsFocusSource]
) -> None:
    term = compositor.open("~/src", "foot", activated=True)
    recorder = _start(compositor, running)
    samples = Samples(recorder)
    samples.next(lambda s: s.title == "~/src")

    compositor.retitle(term, "vim main.py", done=False)
    compositor.barrier()
    assert [s.title for s in recorder.samples] == ["~/src"]

    compositor.done(term)
    assert samples.next().title == "vim main.py"


def test_privacy_applies_to_wlroots_samples(
    compositor: FakeCompositor, running: list[WlrootsFocusSource]
) -> None:
    compositor.open("Chat with Sam", "org.signal.Signal", activated=True)
    recorder = _start(
        compositor, running, FocusPrivacy(excluded_apps=("org.signal.*",))
    )
    sample = recorder.wait_for(lambda s: s.focused)

    assert sample.private
    assert sample.title == ""


def test_malformed_messages_are_skipped(
    compositor: FakeCompositor, running: list[WlrootsFocusSource]
) -> None:
    term = compositor.open("~/src", "foot", activated=True)
    recorder = _start(compositor, running)
    samples = Samples(recorder)
    samples.next(lambda s: s.title == "~/src")
    handle = compositor.handle_of(term)

    compositor.send_raw(
        message(handle, 0)  # title without its string
        + message(handle, 0, u32(400) + b"short")  # string past the message
        + message(handle, 4, u32(7) + b"\2\0\0\0\0\0\0\0")  # odd array length
        + message(handle, 42, u32(1))  # no such event
        + message(0xFF00FFFF, 0, string("nobody's title"))  # unknown object
        + message(1, 1)  # delete_id without its id
        + message(4, 0, u32(handle))  # a new toplevel reusing a live id
        + message(handle, 0, u32(8) + b"\xff\xfe bad!\0")  # not UTF-8
        + message(handle, 5)
    )
    undecodable = samples.next()
    compositor.retitle(term, "make test")
    sample = samples.next()

    assert undecodable.title == "\ufffd\ufffd bad!"
    assert sample.title == "make test"
    assert recorder.health[-1].state is HealthState.WORKING
    assert compositor.binds == 1  # the stream was still framed: no reconnect


@pytest.mark.parametrize(
    "poison",
    [
        pytest.param(message(1, 0)[:4] + u32(4 << 16), id="size-below-header"),
        pytest.param(
            message(1, 0, u32(4) + u32(1) + string("bad object")), id="display-error"
        ),
        pytest.param(message(4, 1), id="manager-finished"),
        pytest.param(message(2, 1, u32(3)), id="manager-global-removed"),
    ],
)
def test_unrecoverable_stream_reconnects(
    poison: bytes, compositor: FakeCompositor, running: list[WlrootsFocusSource]
) -> None:
    compositor.open("~/src", "foot", activated=True)
    recorder = _start(compositor, running)
    samples = Samples(recorder)
    samples.next(lambda s: s.title == "~/src")

    compositor.send_raw(poison)
    lost = samples.next()
    back = samples.next(lambda s: s.focused)
    compositor.wait_for_binds(2)

    assert lost.app is None
    assert back.title == "~/src"
    assert any(h.state is HealthState.UNAVAILABLE for h in recorder.health)
    _wait_health(recorder, lambda h: h.ok and recorder.health[-1] is h)


def test_compositor_restart_is_followed(
    compositor: FakeCompositor, running: list[WlrootsFocusSource]
) -> None:
    compositor.open("~/src", "foot", activated=True)
    recorder = _start(compositor, running)
    samples = Samples(recorder)
    samples.next(lambda s: s.title == "~/src")

    compositor.stop()
    gone = samples.next()
    down = _wait_health(recorder, lambda h: not h.ok)
    restarted = FakeCompositor(compositor.path)
    restarted.open("Welcome", "org.gnome.Epiphany", activated=True)
    restarted.start()
    try:
        back = samples.next(lambda s: s.focused, timeout=10)
        _wait_health(recorder, lambda h: h.ok and recorder.health[-1] is h)
    finally:
        restarted.stop()

    assert gone.app is None
    assert "connection lost" in down.reason
    assert (back.app, back.title) == ("Epiphany", "Welcome")


def test_stop_ends_the_thread_while_the_compositor_is_away(
    tmp_path: Path,
) -> None:
    source = WlrootsFocusSource(
        ManualClock(), None, None, tmp_path / "wayland-none", (5.0, 5.0)
    )
    recorder = Recorder()
    source.start(recorder, recorder.on_health)
    health = _wait_health(recorder, lambda h: not h.ok)
    source.stop()

    assert "connection lost" in health.reason
    alive = [t.name for t in threading.enumerate()]
    assert "focus-wayland-wlroots" not in alive


# against a real sway


@pytest.fixture
def sway() -> Iterator[Sway]:
    # Not under pytest's tmp dir: as root, sway runs as nobody, who cannot
    # enter root's 0700 directories; the runtime dir itself is 0700.
    runtime = Path(tempfile.mkdtemp(prefix="punchclock-sway-"))
    compositor = Sway(runtime)
    try:
        compositor.start()
    except SwayUnavailable as exc:
        compositor.stop()
        shutil.rmtree(runtime, ignore_errors=True)
        pytest.skip(f"no headless sway here: {exc}")
    yield compositor
    compositor.stop()
    shutil.rmtree(runtime, ignore_errors=True)


def test_real_sway_switch_retitle_close_restart(sway: Sway) -> None:
    pytest.importorskip("PySide6")
    source = create_focus_source(SystemClock(), environ=sway.environ())
    assert isinstance(source, WlrootsFocusSource)
    recorder = Recorder()
    samples = Samples(recorder)
    source.start(recorder, recorder.on_health)
    windows: list[QtWaylandWindow] = []
    try:
        windows.append(QtWaylandWindow(sway, "Punchclock wl A"))
        samples.next(lambda s: s.title == "Punchclock wl A")
        windows.append(QtWaylandWindow(sway, "Punchclock wl B"))
        opened_b = samples.next(lambda s: s.title == "Punchclock wl B")

        sway.msg('[title="Punchclock wl A"] focus')
        focused_a = samples.next(lambda s: s.focused)
        windows[0].retitle("Punchclock wl A, edited")
        retitled = samples.next(lambda s: s.title.endswith("edited"))
        windows[0].close()
        after_close = samples.next(lambda s: s.focused)

        sway.stop()
        gone = samples.next(lambda s: not s.focused)
        down = _wait_health(recorder, lambda h: not h.ok)
        sway.start()
        windows.append(QtWaylandWindow(sway, "Punchclock wl C"))
        back = samples.next(lambda s: s.title == "Punchclock wl C", timeout=20)
    finally:
        source.stop()
        for window in windows:
            window.close()

    assert (opened_b.app, opened_b.wm_class, opened_b.pid) == (
        "WaylandTestWindow",
        WINDOW_APP_ID,
        None,
    )
    assert focused_a.title == "Punchclock wl A"
    assert (retitled.title, retitled.window_id) == (
        "Punchclock wl A, edited",
        focused_a.window_id,
    )
    assert after_close.title == "Punchclock wl B"
    assert gone.app is None
    assert "connection lost" in down.reason
    assert back.app == "WaylandTestWindow"
    assert recorder.health[-1].ok
