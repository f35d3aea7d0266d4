"""The global start/stop shortcut: parsing, the Null back end's reasons, and
the X11 key grab on the virtual desktop, pressed with xdotool while another
app (an xterm) has the focus."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QAction, QKeySequence
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.paths import Paths
from agent.settings import default_settings
from tests.desktop import VirtualDesktop
from tests.ui.conftest import FakeAutostart, FakeCapture, settle
from ui.commands import CommandRunner
from ui.global_shortcut import (
    WAYLAND,
    GlobalShortcut,
    NullShortcut,
    Shortcut,
    ShortcutError,
    ShortcutUnavailable,
    create_global_shortcut,
    parse_shortcut,
)
from ui.preferences import Preferences, load_preferences, preferences_path
from ui.services import Services
from ui.settings_dialog import GLOBAL_SHORTCUT, SettingsDialog
from ui.shell import Shell


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ctrl+Alt+P", Shortcut(("Ctrl", "Alt"), "P")),
        (" ctrl+alt+p ", Shortcut(("Ctrl", "Alt"), "P")),
        ("Meta+F5", Shortcut(("Meta",), "F5")),
        ("Ctrl+Shift+PgUp", Shortcut(("Ctrl", "Shift"), "PgUp")),
        ("", None),
    ],
)
def test_shortcuts_parse_as_qt_writes_them(
    qtbot: QtBot, text: str, expected: Shortcut | None
) -> None:
    assert parse_shortcut(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("P", "needs Ctrl, Alt or Meta"),
        ("Shift+P", "needs Ctrl, Alt or Meta"),
        ("Ctrl+Alt+P, Ctrl+Q", "not one key"),
        ("Ctrl+Alt+Nonsense", "names no key"),
        ("Ctrl+Alt", "names no key"),
    ],
)
def test_a_shortcut_that_would_steal_typing_or_is_no_key_is_refused(
    qtbot: QtBot, text: str, why: str
) -> None:
    with pytest.raises(ShortcutError, match=why):
        parse_shortcut(text)


@pytest.mark.parametrize(
    ("platform", "env", "why"),
    [
        ("wayland", {"WAYLAND_DISPLAY": "wayland-0"}, WAYLAND),
        ("xcb", {}, "no display"),
        ("offscreen", {}, "no display"),
    ],
)
def test_null_back_end_says_why(
    qtbot: QtBot, platform: str, env: dict[str, str], why: str
) -> None:
    shortcut = create_global_shortcut(platform, env)

    assert isinstance(shortcut, NullShortcut)
    with pytest.raises(ShortcutUnavailable, match=why[:20]):
        shortcut.register(Shortcut(("Ctrl", "Alt"), "P"))


@pytest.fixture
def grabs(desktop: VirtualDesktop, qtbot: QtBot) -> Iterator[list[object]]:
    made: list[object] = []
    yield made
    for shortcut in made:
        shortcut.close()  # type: ignore[attr-defined]


def _x11(desktop: VirtualDesktop, made: list[object]):  # type: ignore[no-untyped-def]
    shortcut = create_global_shortcut("xcb", {"DISPLAY": desktop.display})
    assert shortcut.backend == "x11"
    made.append(shortcut)
    return shortcut


@pytest.mark.x11
def test_x11_shortcut_fires_while_another_app_has_the_focus(
    qtbot: QtBot, desktop: VirtualDesktop, grabs: list[object]
) -> None:
    shortcut = _x11(desktop, grabs)
    shortcut.register(Shortcut(("Ctrl", "Alt"), "P"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))
    desktop.activate(desktop.open_xterm("someone else's window"))

    desktop.xdotool("key", "ctrl+alt+o")  # not ours: goes to the xterm
    with qtbot.waitSignal(shortcut.activated, timeout=5000):
        desktop.xdotool("key", "ctrl+alt+p")
    desktop.xdotool("key", "ctrl+p")  # the key without all its modifiers
    qtbot.wait(300)

    assert pressed == [True]


@pytest.mark.x11
def test_x11_shortcut_works_with_caps_lock_and_num_lock_on(
    qtbot: QtBot, desktop: VirtualDesktop, grabs: list[object]
) -> None:
    shortcut = _x11(desktop, grabs)
    shortcut.register(Shortcut(("Ctrl", "Alt"), "P"))
    # (Not an F key: Ctrl+Alt+F5 is the server's own "switch to VT 5".)
    for lock in ("Caps_Lock", "Num_Lock"):
        desktop.xdotool("key", lock)
    try:
        with qtbot.waitSignal(shortcut.activated, timeout=5000):
            desktop.xdotool("key", "ctrl+alt+p")
    finally:
        for lock in ("Caps_Lock", "Num_Lock"):
            desktop.xdotool("key", lock)


@pytest.mark.x11
def test_x11_shortcut_taken_by_another_program_is_reported(
    qtbot: QtBot, desktop: VirtualDesktop, grabs: list[object]
) -> None:
    first = _x11(desktop, grabs)
    second = _x11(desktop, grabs)
    first.register(Shortcut(("Ctrl", "Alt"), "P"))

    with pytest.raises(ShortcutUnavailable, match="already taken by another"):
        second.register(Shortcut(("Ctrl", "Alt"), "P"))

    first.unregister()
    second.register(Shortcut(("Ctrl", "Alt"), "P"))
    with qtbot.waitSignal(second.activated, timeout=5000):
        desktop.xdotool("key", "ctrl+alt+p")


class RecordingShortcut(GlobalShortcut):
    """The capability as the shell sees it; records what it was asked."""

    backend = "recording"

    def __init__(self, refuse: str = "") -> None:
        super().__init__()
        self.refuse = refuse
        self.registered: Shortcut | None = None

    def register(self, shortcut: Shortcut) -> None:
        if self.refuse:
            raise ShortcutUnavailable(self.refuse)
        self.registered = shortcut

    def unregister(self) -> None:
        self.registered = None


@pytest.fixture
def keyed(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
) -> Iterator[tuple[Shell, RecordingShortcut]]:
    shortcut = RecordingShortcut()
    shell = Shell(
        services, runner, capture, autostart, ask_consent=False, shortcut=shortcut
    )  # type: ignore[arg-type]
    qtbot.addWidget(shell.window)
    shell.start()
    qtbot.waitUntil(lambda: runner.idle)
    yield shell, shortcut
    runner.wait()
    shell._consent_poll.stop()
    shell.tray.icon.hide()


def _press(qtbot: QtBot, shell: Shell, shortcut: RecordingShortcut) -> None:
    shortcut.activated.emit()
    qtbot.waitUntil(lambda: shell.runner.idle)
    settle(qtbot, shell)


def test_the_shortcut_starts_the_last_project_and_stops_it(
    qtbot: QtBot,
    keyed: tuple[Shell, RecordingShortcut],
    services: Services,
    clock: ManualClock,
) -> None:
    shell, shortcut = keyed
    assert shortcut.registered == Shortcut(("Ctrl", "Alt"), "P")
    assert shell.shortcut_note == "Ctrl+Alt+P works in every app."
    services.add_project("Acme", "Design")
    services.timer.start("Acme", "Design")
    clock.advance(600)
    services.timer.stop()
    settle(qtbot, shell)
    told: list[str] = []
    shell.tray.notified.connect(lambda _title, text: told.append(text))

    shell.tray.rebuild()
    start = shell.tray.menu.findChild(QAction, "start")
    assert start is not None
    assert start.shortcut().toString() == "Ctrl+Alt+P"

    _press(qtbot, shell, shortcut)
    entry = services.current()
    assert entry is not None
    assert (entry.project, entry.task) == ("Acme", "Design")
    shell.tray.rebuild()
    stop = shell.tray.menu.findChild(QAction, "stop")
    assert stop is not None
    assert stop.shortcut().toString() == "Ctrl+Alt+P"

    _press(qtbot, shell, shortcut)
    assert services.current() is None
    assert told == [
        "Timer started on Acme / Design.",
        "Timer stopped on Acme / Design.",
    ]


def test_the_shortcut_with_nothing_recent_opens_the_picker(
    qtbot: QtBot, keyed: tuple[Shell, RecordingShortcut]
) -> None:
    shell, shortcut = keyed

    shortcut.activated.emit()

    assert shell.picker is not None
    assert shell.picker.isVisible()
    shell.picker.close()


def test_a_new_shortcut_from_settings_is_registered_at_once(
    qtbot: QtBot, keyed: tuple[Shell, RecordingShortcut], services: Services
) -> None:
    shell, shortcut = keyed
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    assert "Ctrl+Alt+P works in every app." in dialog.shortcut_note.text()
    dialog.global_shortcut.setKeySequence(QKeySequence("Ctrl+Shift+F9"))

    with qtbot.waitSignal(shell.runner.finished):
        dialog.accept()

    assert shortcut.registered == Shortcut(("Ctrl", "Shift"), "F9")
    assert load_preferences(services.paths).global_shortcut == "Ctrl+Shift+F9"


def test_a_refused_shortcut_is_explained_in_settings(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
) -> None:
    shortcut = RecordingShortcut(refuse="Wayland does not let an app hear keys")
    shell = Shell(
        services, runner, capture, autostart, ask_consent=False, shortcut=shortcut
    )  # type: ignore[arg-type]
    qtbot.addWidget(shell.window)
    shell.apply_shortcut()
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None

    assert dialog.shortcut_note.text() == (
        "Ctrl+Alt+P does not work here: Wayland does not let an app hear keys"
    )
    shell.tray.rebuild()
    start = shell.tray.menu.findChild(QAction, "start")
    assert start is not None
    assert start.shortcut().isEmpty()  # not shown where it does not work
    dialog.close()
    shell._consent_poll.stop()


def test_a_shortcut_that_would_steal_typing_is_explained_and_kept(
    qtbot: QtBot,
) -> None:
    dialog = SettingsDialog(default_settings(), Preferences(), False)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.global_shortcut.setKeySequence(QKeySequence("Shift+K"))

    dialog.accept()

    assert dialog.result_choice is None
    assert "Start/stop shortcut: 'Shift+K' needs Ctrl, Alt or Meta" in (
        dialog.error.text()
    )
    assert dialog.global_shortcut.keySequence().toString() == "Shift+K"


def test_a_locked_shortcut_is_disabled_and_kept(qtbot: QtBot) -> None:
    chosen = Preferences(global_shortcut="Meta+F8")
    locked = {GLOBAL_SHORTCUT: "set by IT"}
    dialog = SettingsDialog(default_settings(), chosen, False, locked)
    qtbot.addWidget(dialog)
    assert not dialog.global_shortcut.isEnabled()
    dialog.global_shortcut.setKeySequence(QKeySequence("Ctrl+Alt+Q"))

    dialog.accept()

    assert dialog.result_choice is not None
    assert dialog.result_choice.preferences.global_shortcut == "Meta+F8"


def test_clearing_the_shortcut_means_none(qtbot: QtBot) -> None:
    dialog = SettingsDialog(default_settings(), Preferences(), False)
    qtbot.addWidget(dialog)
    dialog.global_shortcut.clear()

    dialog.accept()

    assert dialog.result_choice is not None
    assert dialog.result_choice.preferences.global_shortcut == ""


def test_a_preferences_file_with_a_wrong_type_keeps_the_rest(
    paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    preferences_path(paths).write_text(
        json.dumps({"version": 1, "notifications": False, "global_shortcut": 5})
    )

    loaded = load_preferences(paths)

    assert loaded == Preferences(notifications=False)
    assert "global_shortcut = 5 is ignored" in caplog.text
