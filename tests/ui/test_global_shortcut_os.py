"""The Windows and macOS global shortcuts, faked at the operating-system call.

Neither OS runs here, so the system libraries are replaced where the code
meets them: ``ctypes.WinDLL`` (and ``ctypes.get_last_error``) for user32,
``ctypes.util.find_library`` and ``ctypes.cdll.LoadLibrary`` for Carbon.
The fake functions behave as ctypes' foreign functions do: arguments are
checked against the declared ``argtypes`` and the result converted through
the ``restype``, so a wrong prototype fails here as it would on the OS.

What the OS would do when the worker presses keys is done by the fakes the
way the OS does it: Windows posts ``WM_HOTKEY`` to the registering thread,
whose message reaches Qt's native event filters through Qt's own event
dispatcher; Carbon calls the installed event handlers through their C
function pointers, newest first, until one handles the event.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import weakref
from collections.abc import Callable, Iterator
from ctypes import wintypes
from typing import Any

import pytest
from PySide6.QtCore import QAbstractEventDispatcher, QByteArray
from pytestqt.qtbot import QtBot
from shiboken6 import VoidPtr

from tests.ui.conftest import FakeAutostart, FakeCapture
from ui import global_shortcut_mac as mac
from ui import global_shortcut_win as win
from ui.commands import CommandRunner
from ui.global_shortcut import (
    GlobalShortcut,
    NullShortcut,
    ShortcutUnavailable,
    create_global_shortcut,
    parse_shortcut,
)
from ui.services import Services
from ui.shell import Shell


class ForeignFunction:
    """A C function as ctypes presents it: declared types, C conversions."""

    def __init__(self, body: Callable[..., Any]) -> None:
        self.body = body
        self.restype: Any = ctypes.c_int
        self.argtypes: list[Any] | None = None
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Any:
        if self.argtypes is not None:
            assert len(args) == len(self.argtypes), "called against its prototype"
            for argtype, arg in zip(self.argtypes, args, strict=True):
                argtype.from_param(arg)  # raises as ctypes would on a wrong type
        self.calls.append(tuple(_unowned(arg) for arg in args))
        value = self.body(*args)
        if self.restype is None:
            return None
        return self.restype(value).value


def _unowned(arg: Any) -> Any:
    """What C keeps of an argument: of a callback, its address only."""
    if isinstance(arg, ctypes._CFuncPtr):  # type: ignore[attr-defined]
        return ctypes.cast(arg, ctypes.c_void_p).value
    return arg


class FakeLibrary:
    def __init__(self, **functions: Callable[..., Any]) -> None:
        self._functions = {
            name: ForeignFunction(body) for name, body in functions.items()
        }

    def __getattr__(self, name: str) -> ForeignFunction:
        try:
            return self._functions[name]
        except KeyError:
            raise AttributeError(f"function {name!r} not found") from None


def _target(reference: Any) -> Any:
    """The object behind a ``ctypes.byref`` argument."""
    return reference._obj


def _address(pointer: Any) -> int:
    value = pointer.value if isinstance(pointer, ctypes.c_void_p) else pointer
    assert value is not None
    return int(value)


# Windows

ERROR_HOTKEY_NOT_REGISTERED = 1419
WITHOUT_REPEAT = ~win.MOD_NOREPEAT


class FakeUser32:
    """user32's hot keys for one thread, and the keys other apps hold."""

    def __init__(self) -> None:
        # VkKeyScanW on a US layout: the virtual key in the low byte, Shift
        # in the high one ('?' is Shift and the '/' key).
        self.layout = {"/": 0x00BF, ";": 0x00BA, "?": 0x01BF}
        self.hot_keys: dict[tuple[int | None, int], tuple[int, int]] = {}
        self.taken: set[tuple[int, int]] = set()
        self.last_error = 0
        self.library = FakeLibrary(
            RegisterHotKey=self._register,
            UnregisterHotKey=self._unregister,
            VkKeyScanW=lambda char: self.layout.get(char, -1),
        )

    def dll(self, name: str, *args: Any, **kwargs: Any) -> FakeLibrary:
        assert name.lower().removesuffix(".dll") == "user32"
        assert kwargs.get("use_last_error"), "GetLastError would be lost"
        return self.library

    def get_last_error(self) -> int:
        return self.last_error

    def press(self, modifiers: int, key: int) -> None:
        """The worker presses keys; Windows posts WM_HOTKEY for a hot key."""
        for (hwnd, hot_key_id), held in list(self.hot_keys.items()):
            if (held[0] & WITHOUT_REPEAT, held[1]) == (modifiers, key):
                post(hwnd, win.WM_HOTKEY, hot_key_id, key << 16 | modifiers)

    def _register(self, hwnd: int | None, hot_key_id: int, mods: int, key: int) -> int:
        wanted = (mods & WITHOUT_REPEAT, key)
        ours = {(held & WITHOUT_REPEAT, vk) for held, vk in self.hot_keys.values()}
        if wanted in self.taken | ours:
            self.last_error = win.ERROR_HOTKEY_ALREADY_REGISTERED
            return 0
        self.hot_keys[(hwnd, hot_key_id)] = (mods, key)
        return 1

    def _unregister(self, hwnd: int | None, hot_key_id: int) -> int:
        if self.hot_keys.pop((hwnd, hot_key_id), None) is None:
            self.last_error = ERROR_HOTKEY_NOT_REGISTERED
            return 0
        return 1


def post(hwnd: int | None, message: int, wparam: int, lparam: int) -> bool:
    """A thread message, as Qt's Windows event dispatcher hands it on."""
    msg = wintypes.MSG(hwnd, message, wparam, lparam)
    dispatcher = QAbstractEventDispatcher.instance()
    assert dispatcher is not None
    # PySide6 6.11 takes the message as a VoidPtr, as Qt's dispatcher
    # passes it, and wants Qt's third parameter, the result pointer (0: NULL).
    handled = dispatcher.filterNativeEvent(  # type: ignore[call-arg]
        QByteArray(win.GENERIC_MSG),
        VoidPtr(ctypes.addressof(msg)),  # type: ignore[arg-type]
        0,
    )
    return bool(handled)


@pytest.fixture
def user32(monkeypatch: pytest.MonkeyPatch) -> FakeUser32:
    fake = FakeUser32()
    monkeypatch.setattr(ctypes, "WinDLL", fake.dll, raising=False)
    monkeypatch.setattr(ctypes, "get_last_error", fake.get_last_error, raising=False)
    return fake


@pytest.fixture
def closing(qtbot: QtBot) -> Iterator[list[GlobalShortcut]]:
    made: list[GlobalShortcut] = []
    yield made
    for shortcut in made:
        shortcut.close()


def _windows(closing: list[GlobalShortcut]) -> win.WindowsShortcut:
    shortcut = create_global_shortcut("windows", {})
    assert isinstance(shortcut, win.WindowsShortcut)
    closing.append(shortcut)
    return shortcut


def _shortcut(text: str) -> Any:
    shortcut = parse_shortcut(text)
    assert shortcut is not None
    return shortcut


CTRL_ALT = win.MOD_CONTROL | win.MOD_ALT


@pytest.mark.parametrize(
    ("text", "modifiers", "key"),
    [
        ("Ctrl+Alt+P", CTRL_ALT, ord("P")),
        ("Ctrl+Shift+F12", win.MOD_CONTROL | win.MOD_SHIFT, 0x7B),
        ("Meta+K", win.MOD_WIN, ord("K")),
        ("Ctrl+Alt+5", CTRL_ALT, ord("5")),
        ("Ctrl+Alt+PgDown", CTRL_ALT, 0x22),
        ("Ctrl+Alt+/", CTRL_ALT, 0xBF),  # asked of the keyboard layout
    ],
)
def test_windows_registers_the_keys_qt_names(
    user32: FakeUser32,
    closing: list[GlobalShortcut],
    text: str,
    modifiers: int,
    key: int,
) -> None:
    shortcut = _windows(closing)

    shortcut.register(_shortcut(text))

    # No window: WM_HOTKEY goes to the queue of the thread that registered.
    ((hwnd, hot_key_id),) = user32.hot_keys
    assert hwnd is None
    assert 0 <= hot_key_id <= 0xBFFF
    assert user32.hot_keys[(hwnd, hot_key_id)] == (modifiers | win.MOD_NOREPEAT, key)


def test_windows_hot_key_emits_activated_once_per_press(
    user32: FakeUser32, closing: list[GlobalShortcut]
) -> None:
    shortcut = _windows(closing)
    shortcut.register(_shortcut("Ctrl+Alt+P"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))
    ((_, hot_key_id),) = user32.hot_keys

    user32.press(CTRL_ALT, ord("O"))  # not a hot key: the front app gets it
    user32.press(win.MOD_CONTROL, ord("P"))
    assert not post(None, win.WM_HOTKEY, hot_key_id + 1, 0)  # another id
    assert not post(None, 0x0113, hot_key_id, 0)  # WM_TIMER, same number
    assert pressed == []

    user32.press(CTRL_ALT, ord("P"))
    assert pressed == [True]


def test_windows_shortcut_taken_by_another_app_says_what_to_do(
    user32: FakeUser32, closing: list[GlobalShortcut]
) -> None:
    shortcut = _windows(closing)
    user32.taken.add((CTRL_ALT, ord("P")))

    with pytest.raises(ShortcutUnavailable) as refused:
        shortcut.register(_shortcut("Ctrl+Alt+P"))

    assert str(refused.value) == (
        "Ctrl+Alt+P is taken by another app; choose another in Settings"
    )
    assert user32.hot_keys == {}
    shortcut.register(_shortcut("Ctrl+Shift+F12"))  # another one still works
    assert list(user32.hot_keys.values()) == [
        (win.MOD_CONTROL | win.MOD_SHIFT | win.MOD_NOREPEAT, 0x7B)
    ]


def test_windows_close_unregisters_and_ignores_what_is_still_queued(
    user32: FakeUser32, closing: list[GlobalShortcut]
) -> None:
    shortcut = _windows(closing)
    shortcut.register(_shortcut("Ctrl+Alt+P"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))
    ((_, hot_key_id),) = user32.hot_keys

    shortcut.close()

    assert user32.library.UnregisterHotKey.calls == [(None, hot_key_id)]
    assert user32.hot_keys == {}
    assert not post(None, win.WM_HOTKEY, hot_key_id, ord("P") << 16 | CTRL_ALT)
    assert pressed == []
    shortcut.close()  # twice is harmless
    assert len(user32.library.UnregisterHotKey.calls) == 1


def test_windows_a_new_shortcut_replaces_the_old_one(
    user32: FakeUser32, closing: list[GlobalShortcut]
) -> None:
    shortcut = _windows(closing)
    shortcut.register(_shortcut("Ctrl+Alt+P"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))

    shortcut.register(_shortcut("Meta+K"))
    user32.press(CTRL_ALT, ord("P"))
    user32.press(win.MOD_WIN, ord("K"))

    assert list(user32.hot_keys.values()) == [(win.MOD_WIN | win.MOD_NOREPEAT, 0x4B)]
    assert pressed == [True]


def test_windows_two_shortcuts_hear_only_their_own_hot_key(
    user32: FakeUser32, closing: list[GlobalShortcut]
) -> None:
    first, second = _windows(closing), _windows(closing)
    first.register(_shortcut("Ctrl+Alt+P"))
    second.register(_shortcut("Meta+K"))
    heard: list[str] = []
    first.activated.connect(lambda: heard.append("first"))
    second.activated.connect(lambda: heard.append("second"))

    user32.press(win.MOD_WIN, ord("K"))

    assert heard == ["second"]


def test_windows_key_missing_from_the_layout_is_explained(
    user32: FakeUser32, closing: list[GlobalShortcut]
) -> None:
    shortcut = _windows(closing)

    with pytest.raises(ShortcutUnavailable, match="this keyboard has no § key"):
        shortcut.register(_shortcut("Ctrl+Alt+§"))

    assert user32.library.RegisterHotKey.calls == []


def test_windows_without_win32_is_null_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    monkeypatch.delattr(ctypes, "WinDLL", raising=False)

    shortcut = create_global_shortcut("windows", {})

    assert isinstance(shortcut, NullShortcut)
    with pytest.raises(ShortcutUnavailable, match="Win32 API is not available"):
        shortcut.register(_shortcut("Ctrl+Alt+P"))


def test_windows_shell_says_the_shortcut_works_or_who_took_it(
    qtbot: QtBot,
    user32: FakeUser32,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
) -> None:
    notes: list[str] = []
    for taken in (False, True):
        user32.taken = {(CTRL_ALT, ord("P"))} if taken else set()
        shortcut = create_global_shortcut("windows", {})
        shell = Shell(
            services,
            runner,
            capture,  # type: ignore[arg-type]
            autostart,
            ask_consent=False,
            shortcut=shortcut,
        )
        qtbot.addWidget(shell.window)
        shell.apply_shortcut()
        notes.append(shell.shortcut_note)
        shell.shortcut.close()
        shell._consent_poll.stop()

    assert notes == [
        "Ctrl+Alt+P works in every app.",
        "Ctrl+Alt+P does not work here: Ctrl+Alt+P is taken by another app; "
        "choose another in Settings",
    ]


# macOS

CARBON = "/System/Library/Frameworks/Carbon.framework/Carbon"
HOT_KEY_PRESSED = (mac.K_EVENT_CLASS_KEYBOARD, mac.K_EVENT_HOT_KEY_PRESSED)
EVENT_HOT_KEY_INVALID_ERR = -9879


class FakeCarbon:
    """Carbon's hot keys and the application target's handler stack."""

    TARGET = 0x00A1_1CE0  # GetApplicationEventTarget()

    def __init__(self) -> None:
        # handler ref -> (C function pointer, the event kinds asked for);
        # only a weak reference to the ctypes object, as C keeps none.
        self.handlers: dict[int, tuple[int, weakref.ref[Any], list[Any]]] = {}
        self.hot_keys: dict[int, tuple[int, int, tuple[int, int]]] = {}
        self.taken: set[tuple[int, int]] = set()
        self._events: dict[int, tuple[int, int]] = {}
        self._refs = itertools.count(0x1000)
        self.library = FakeLibrary(
            GetApplicationEventTarget=lambda: self.TARGET,
            InstallEventHandler=self._install,
            RemoveEventHandler=self._remove,
            RegisterEventHotKey=self._register,
            UnregisterEventHotKey=self._unregister,
            GetEventParameter=self._parameter,
        )

    def load(self, path: str) -> FakeLibrary:
        assert path == CARBON
        return self.library

    def press(self, code: int, modifiers: int) -> int | None:
        """The worker presses keys; Carbon calls the handlers, newest first."""
        for held_code, held_modifiers, hot_key_id in self.hot_keys.values():
            if (held_code, held_modifiers) == (code, modifiers):
                return self._send(hot_key_id)
        return None  # not a hot key: the front app gets it

    def _send(self, hot_key_id: tuple[int, int]) -> int:
        event = next(self._refs)
        self._events[event] = hot_key_id
        for address, alive, kinds in reversed(list(self.handlers.values())):
            assert alive() is not None, "Carbon would call a freed callback"
            if HOT_KEY_PRESSED not in kinds:
                continue
            status = int(mac.EventHandlerProc(address)(0xCA11, event, None))
            if status != mac.EVENT_NOT_HANDLED_ERR:
                return status
        return mac.EVENT_NOT_HANDLED_ERR

    def _install(
        self, target: int, proc: Any, count: int, types: Any, data: Any, out: Any
    ) -> int:
        assert target == self.TARGET
        kinds = [(types[i].eventClass, types[i].eventKind) for i in range(count)]
        address = ctypes.cast(proc, ctypes.c_void_p).value
        assert address is not None
        ref = next(self._refs)
        self.handlers[ref] = (address, weakref.ref(proc), kinds)
        _target(out).value = ref
        return mac.NO_ERR

    def _remove(self, handler: Any) -> int:
        del self.handlers[_address(handler)]
        return mac.NO_ERR

    def _register(
        self,
        code: int,
        modifiers: int,
        hot_key_id: Any,
        target: int,
        options: int,
        out: Any,
    ) -> int:
        assert target == self.TARGET
        held = {(c, m) for c, m, _ in self.hot_keys.values()}
        if (code, modifiers) in self.taken | held:
            return mac.EVENT_HOT_KEY_EXISTS_ERR
        ref = next(self._refs)
        self.hot_keys[ref] = (code, modifiers, (hot_key_id.signature, hot_key_id.id))
        _target(out).value = ref
        return mac.NO_ERR

    def _unregister(self, hot_key: Any) -> int:
        if self.hot_keys.pop(_address(hot_key), None) is None:
            return EVENT_HOT_KEY_INVALID_ERR
        return mac.NO_ERR

    def _parameter(
        self, event: int, name: int, kind: int, _: Any, size: int, __: Any, data: Any
    ) -> int:
        assert (name, kind) == (
            mac.K_EVENT_PARAM_DIRECT_OBJECT,
            mac.TYPE_EVENT_HOT_KEY_ID,
        )
        assert size == ctypes.sizeof(mac.EventHotKeyID)
        pressed = _target(data)
        pressed.signature, pressed.id = self._events[event]
        return mac.NO_ERR


@pytest.fixture
def carbon(monkeypatch: pytest.MonkeyPatch) -> FakeCarbon:
    fake = FakeCarbon()
    monkeypatch.setattr(
        ctypes.util, "find_library", lambda name: CARBON if name == "Carbon" else None
    )
    monkeypatch.setattr(ctypes.cdll, "LoadLibrary", fake.load)
    return fake


def _mac(closing: list[GlobalShortcut]) -> mac.MacShortcut:
    shortcut = create_global_shortcut("cocoa", {})
    assert isinstance(shortcut, mac.MacShortcut)
    closing.append(shortcut)
    return shortcut


CMD_OPTION = mac.CMD_KEY | mac.OPTION_KEY


@pytest.mark.parametrize(
    ("text", "modifiers", "code"),
    [
        # Qt's Ctrl is ⌘ on macOS, its Meta is ⌃.
        ("Ctrl+Alt+P", CMD_OPTION, 0x23),  # kVK_ANSI_P
        ("Ctrl+Shift+F12", mac.CMD_KEY | mac.SHIFT_KEY, 0x6F),  # kVK_F12
        ("Meta+K", mac.CONTROL_KEY, 0x28),  # kVK_ANSI_K
        ("Meta+Alt+5", mac.CONTROL_KEY | mac.OPTION_KEY, 0x17),  # kVK_ANSI_5
        ("Ctrl+Alt+/", CMD_OPTION, 0x2C),  # kVK_ANSI_Slash
    ],
)
def test_macos_registers_the_keys_qt_names(
    carbon: FakeCarbon,
    closing: list[GlobalShortcut],
    text: str,
    modifiers: int,
    code: int,
) -> None:
    shortcut = _mac(closing)

    shortcut.register(_shortcut(text))

    ((held_code, held_modifiers, (signature, _)),) = carbon.hot_keys.values()
    assert (held_code, held_modifiers) == (code, modifiers)
    assert signature == mac.SIGNATURE
    ((_, _, kinds),) = carbon.handlers.values()
    assert kinds == [HOT_KEY_PRESSED]


def test_macos_hot_key_emits_activated_once_per_press(
    carbon: FakeCarbon, closing: list[GlobalShortcut]
) -> None:
    shortcut = _mac(closing)
    shortcut.register(_shortcut("Ctrl+Alt+P"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))

    assert carbon.press(0x23, mac.CMD_KEY) is None  # ⌘P is not the hot key
    assert pressed == []

    assert carbon.press(0x23, CMD_OPTION) == mac.NO_ERR
    assert pressed == [True]


def test_macos_callback_outlives_the_constructor(
    carbon: FakeCarbon, closing: list[GlobalShortcut]
) -> None:
    shortcut = _mac(closing)
    shortcut.register(_shortcut("Meta+K"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))

    gc.collect()

    assert carbon.press(0x28, mac.CONTROL_KEY) == mac.NO_ERR
    assert pressed == [True]


def test_macos_two_shortcuts_hear_only_their_own_hot_key(
    carbon: FakeCarbon, closing: list[GlobalShortcut]
) -> None:
    first, second = _mac(closing), _mac(closing)
    first.register(_shortcut("Meta+K"))
    second.register(_shortcut("Ctrl+Alt+P"))
    heard: list[str] = []
    first.activated.connect(lambda: heard.append("first"))
    second.activated.connect(lambda: heard.append("second"))

    # The newest handler (second's) sees first's hot key and passes it on.
    assert carbon.press(0x28, mac.CONTROL_KEY) == mac.NO_ERR

    assert heard == ["first"]


def test_macos_shortcut_taken_by_another_app_says_what_to_do(
    carbon: FakeCarbon, closing: list[GlobalShortcut]
) -> None:
    shortcut = _mac(closing)
    carbon.taken.add((0x23, CMD_OPTION))

    with pytest.raises(ShortcutUnavailable) as refused:
        shortcut.register(_shortcut("Ctrl+Alt+P"))

    assert str(refused.value) == (
        "Ctrl+Alt+P is taken by another app; choose another in Settings"
    )
    assert carbon.hot_keys == {}


def test_macos_refuses_option_only_shortcuts_up_front(
    carbon: FakeCarbon, closing: list[GlobalShortcut]
) -> None:
    shortcut = _mac(closing)

    with pytest.raises(ShortcutUnavailable, match="only Option and Shift"):
        shortcut.register(_shortcut("Alt+Shift+P"))

    assert carbon.library.RegisterEventHotKey.calls == []


def test_macos_close_unregisters_the_hot_key_and_the_handler(
    carbon: FakeCarbon, closing: list[GlobalShortcut]
) -> None:
    shortcut = _mac(closing)
    shortcut.register(_shortcut("Ctrl+Alt+P"))
    pressed: list[bool] = []
    shortcut.activated.connect(lambda: pressed.append(True))
    (hot_key,) = carbon.hot_keys
    (handler,) = carbon.handlers

    shortcut.close()

    calls = carbon.library.UnregisterEventHotKey.calls
    assert [_address(ref) for (ref,) in calls] == [hot_key]
    removed = carbon.library.RemoveEventHandler.calls
    assert [_address(ref) for (ref,) in removed] == [handler]
    assert (carbon.hot_keys, carbon.handlers) == ({}, {})
    assert carbon.press(0x23, CMD_OPTION) is None
    assert pressed == []
    shortcut.close()  # twice is harmless
    assert len(carbon.library.RemoveEventHandler.calls) == 1


def test_macos_without_carbon_is_null_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)

    shortcut = create_global_shortcut("cocoa", {})

    assert isinstance(shortcut, NullShortcut)
    with pytest.raises(ShortcutUnavailable, match="Carbon framework is missing"):
        shortcut.register(_shortcut("Ctrl+Alt+P"))
