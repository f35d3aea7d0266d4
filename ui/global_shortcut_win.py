"""The global shortcut on Windows: ``RegisterHotKey`` on the UI thread.

Registered without a window (``hWnd`` NULL), the hot key is posted as
``WM_HOTKEY`` to the message queue of the thread that registered it, which
is Qt's UI thread. Qt's event dispatcher takes it off the queue and hands
it to the application's native event filters as ``windows_generic_MSG``
before anything else sees it; the filter here reads the ``MSG`` with ctypes
and emits ``activated`` right there, on the UI thread. No window, no
thread, no polling. (A native modal loop, such as a native file dialog,
drops thread messages: a press while one is open is lost.)

Windows gives each hot key to one program: when another one holds the same
keys, ``RegisterHotKey`` fails with ``ERROR_HOTKEY_ALREADY_REGISTERED``,
reported as :class:`~ui.global_shortcut.ShortcutUnavailable` with what to
do. ``MOD_NOREPEAT`` keeps a held-down shortcut from toggling the timer
over and over.

Every Win32 call goes through ``ctypes.WinDLL("user32")``; tests replace
exactly that (and ``ctypes.get_last_error``).
"""

from __future__ import annotations

import ctypes
import itertools
import logging
from ctypes import wintypes
from typing import Any

from PySide6.QtCore import QAbstractNativeEventFilter, QCoreApplication, QObject

from ui.global_shortcut import GlobalShortcut, Shortcut, ShortcutUnavailable

log = logging.getLogger(__name__)

WM_HOTKEY = 0x0312
MOD_ALT = 0x0001
MOD_CONTROL = 0x0002
MOD_SHIFT = 0x0004
MOD_WIN = 0x0008
MOD_NOREPEAT = 0x4000
ERROR_HOTKEY_ALREADY_REGISTERED = 1409
# What Qt's Windows event dispatcher calls every message it takes off the
# thread's queue (window messages reach the filters as well, by other names).
GENERIC_MSG = b"windows_generic_MSG"

# Qt's MetaModifier is the Windows key on Windows.
MODIFIERS = {"Ctrl": MOD_CONTROL, "Alt": MOD_ALT, "Shift": MOD_SHIFT, "Meta": MOD_WIN}
# Virtual-key codes of Qt's portable key names that are not one character.
VIRTUAL_KEYS = {
    "Space": 0x20,
    "Tab": 0x09,
    "Backspace": 0x08,
    "Return": 0x0D,
    "Enter": 0x0D,
    "Esc": 0x1B,
    "Pause": 0x13,
    "PgUp": 0x21,
    "PgDown": 0x22,
    "End": 0x23,
    "Home": 0x24,
    "Left": 0x25,
    "Up": 0x26,
    "Right": 0x27,
    "Down": 0x28,
    "Print": 0x2C,
    "Ins": 0x2D,
    "Del": 0x2E,
    **{f"F{number}": 0x70 + number - 1 for number in range(1, 25)},
}


def load_user32() -> Any:
    """``user32`` with the prototypes this module calls."""
    try:
        user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError) as error:
        raise ShortcutUnavailable(
            f"the Win32 API is not available here ({error})"
        ) from error

    hwnd, uint, integer = wintypes.HWND, wintypes.UINT, ctypes.c_int
    signatures: dict[str, tuple[list[Any], Any]] = {
        "RegisterHotKey": ([hwnd, integer, uint, uint], wintypes.BOOL),
        "UnregisterHotKey": ([hwnd, integer], wintypes.BOOL),
        "VkKeyScanW": ([wintypes.WCHAR], wintypes.SHORT),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(user32, name)
        function.argtypes, function.restype = argtypes, restype
    return user32


class _HotKeyFilter(QAbstractNativeEventFilter):
    """Hands the ``WM_HOTKEY`` messages of one hot key id to its owner."""

    def __init__(self, owner: WindowsShortcut) -> None:
        super().__init__()
        self._owner = owner

    def nativeEventFilter(self, event_type: Any, message: Any) -> tuple[bool, int]:
        # ``message`` is the MSG*, valid only now: a shiboken VoidPtr (whose
        # truth is its size, 0, not its address) or an int.
        address = int(message)
        if bytes(event_type) != GENERIC_MSG or not address:
            return False, 0
        msg = wintypes.MSG.from_address(address)
        if msg.message != WM_HOTKEY:
            return False, 0
        return self._owner.hot_key_pressed(int(msg.wParam)), 0


class WindowsShortcut(GlobalShortcut):
    backend = "windows"
    # Hot key ids are per thread; an app may use 0x0000-0xBFFF.
    _ids = itertools.count(0x5043)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._user32 = load_user32()
        self._id = next(self._ids) % 0xC000
        self._filter = _HotKeyFilter(self)
        self._registered: Shortcut | None = None

    def register(self, shortcut: Shortcut) -> None:
        self.unregister()
        key = self._virtual_key(shortcut)
        modifiers = MOD_NOREPEAT
        for name in shortcut.modifiers:
            modifiers |= MODIFIERS[name]

        if not self._user32.RegisterHotKey(None, self._id, modifiers, key):
            raise ShortcutUnavailable(_refusal(shortcut, _last_error()))
        app = QCoreApplication.instance()
        if app is not None:
            app.installNativeEventFilter(self._filter)
        self._registered = shortcut
        log.info("global shortcut %s registered on Windows", shortcut.text)

    def unregister(self) -> None:
        if self._registered is None:
            return
        self._registered = None
        app = QCoreApplication.instance()
        if app is not None:
            app.removeNativeEventFilter(self._filter)
        if not self._user32.UnregisterHotKey(None, self._id):
            log.warning(
                "releasing the global shortcut failed (error %d)", _last_error()
            )
            return
        log.info("global shortcut unregistered")

    def hot_key_pressed(self, hot_key_id: int) -> bool:
        """From the native event filter: whether ``hot_key_id`` is ours."""
        if hot_key_id != self._id or self._registered is None:
            return False
        log.debug("global shortcut pressed")
        self.activated.emit()
        return True

    def _virtual_key(self, shortcut: Shortcut) -> int:
        key = shortcut.key
        if key in VIRTUAL_KEYS:
            return VIRTUAL_KEYS[key]
        if len(key) == 1 and (key.isascii() and key.isalnum()):
            return ord(key.upper())  # VK_A..VK_Z and VK_0..VK_9 are ASCII
        if len(key) == 1:
            # Punctuation sits on different keys per layout: ask this one.
            scan = int(self._user32.VkKeyScanW(key))
            if scan != -1:
                return scan & 0xFF
        raise ShortcutUnavailable(
            f"this keyboard has no {key} key; choose another shortcut in Settings"
        )


def _refusal(shortcut: Shortcut, error: int) -> str:
    if error == ERROR_HOTKEY_ALREADY_REGISTERED:
        return f"{shortcut.text} is taken by another app; choose another in Settings"
    return (
        f"Windows refused {shortcut.text} (error {error}); choose another "
        "shortcut in Settings"
    )


def _last_error() -> int:
    return int(ctypes.get_last_error())  # type: ignore[attr-defined,unused-ignore]
