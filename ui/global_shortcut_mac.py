"""The global shortcut on macOS: a Carbon hot key, through ctypes.

``RegisterEventHotKey`` is the one way on macOS to hear a key combination
pressed in any app without the Accessibility permission (a global
``NSEvent`` monitor needs it, and cannot keep the key from the front app).
The hot key arrives as a ``kEventHotKeyPressed`` Carbon event at the
application's event target, on the main thread, where Qt runs its event
loop; the handler installed here reads the hot key's id from the event and
emits ``activated`` right there. No thread, no polling.

Qt names the keys as macOS users see them swapped: its ``Ctrl`` is the
Command key (⌘) and its ``Meta`` the Control key (⌃), so the default
Ctrl+Alt+P is ⌘⌥P. Key codes are the ``kVK_ANSI_*`` positions, which are
the letters of a US layout.

Every Carbon call goes through the library ``ctypes.cdll`` loads from
``ctypes.util.find_library("Carbon")``; tests replace exactly those two.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
import logging
from typing import Any

from PySide6.QtCore import QObject

from ui.global_shortcut import GlobalShortcut, Shortcut, ShortcutUnavailable

log = logging.getLogger(__name__)

NO_ERR = 0
EVENT_NOT_HANDLED_ERR = -9874
EVENT_HOT_KEY_EXISTS_ERR = -9878
K_EVENT_CLASS_KEYBOARD = 0x6B657962  # 'keyb'
K_EVENT_HOT_KEY_PRESSED = 5
K_EVENT_PARAM_DIRECT_OBJECT = 0x2D2D2D2D  # '----'
TYPE_EVENT_HOT_KEY_ID = 0x686B6964  # 'hkid'
SIGNATURE = 0x50434C4B  # 'PCLK': Punchclock's hot keys

CMD_KEY = 1 << 8
SHIFT_KEY = 1 << 9
OPTION_KEY = 1 << 11
CONTROL_KEY = 1 << 12
# Qt's names to Carbon's: Qt's Ctrl is ⌘, its Meta is ⌃ (see above).
MODIFIERS = {
    "Ctrl": CMD_KEY,
    "Alt": OPTION_KEY,
    "Shift": SHIFT_KEY,
    "Meta": CONTROL_KEY,
}

# kVK_* from HIToolbox/Events.h, by Qt's portable key names.
KEY_CODES = {
    **dict(zip("ASDFHGZXCV", range(0x00, 0x0A), strict=True)),
    **dict(zip("BQWERYT123465=97-80]OU[IP", range(0x0B, 0x24), strict=True)),
    **dict(zip("LJ'K;\\,/NM.", range(0x25, 0x30), strict=True)),
    "`": 0x32,
    "Return": 0x24,
    "Tab": 0x30,
    "Space": 0x31,
    "Backspace": 0x33,
    "Esc": 0x35,
    "Enter": 0x4C,
    "Home": 0x73,
    "PgUp": 0x74,
    "Del": 0x75,
    "End": 0x77,
    "PgDown": 0x79,
    "Left": 0x7B,
    "Right": 0x7C,
    "Down": 0x7D,
    "Up": 0x7E,
    "F1": 0x7A,
    "F2": 0x78,
    "F3": 0x63,
    "F4": 0x76,
    "F5": 0x60,
    "F6": 0x61,
    "F7": 0x62,
    "F8": 0x64,
    "F9": 0x65,
    "F10": 0x6D,
    "F11": 0x67,
    "F12": 0x6F,
    "F13": 0x69,
    "F14": 0x6B,
    "F15": 0x71,
    "F16": 0x6A,
    "F17": 0x40,
    "F18": 0x4F,
    "F19": 0x50,
    "F20": 0x5A,
}


class EventTypeSpec(ctypes.Structure):
    _fields_ = (("eventClass", ctypes.c_uint32), ("eventKind", ctypes.c_uint32))


class EventHotKeyID(ctypes.Structure):
    _fields_ = (("signature", ctypes.c_uint32), ("id", ctypes.c_uint32))


# OSStatus (*)(EventHandlerCallRef, EventRef, void *userData)
EventHandlerProc = ctypes.CFUNCTYPE(
    ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p
)


def load_carbon() -> Any:
    """The Carbon framework with the prototypes this module calls."""
    path = ctypes.util.find_library("Carbon")
    if path is None:
        raise ShortcutUnavailable("the Carbon framework is missing")
    try:
        carbon: Any = ctypes.cdll.LoadLibrary(path)
    except OSError as error:
        raise ShortcutUnavailable(f"cannot load Carbon ({error})") from error

    pointer, status, uint32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint32
    out_pointer, byte_count = ctypes.POINTER(ctypes.c_void_p), ctypes.c_ulong
    signatures: dict[str, tuple[list[Any], Any]] = {
        "GetApplicationEventTarget": ([], pointer),
        "InstallEventHandler": (
            [
                pointer,
                EventHandlerProc,
                byte_count,
                ctypes.POINTER(EventTypeSpec),
                pointer,
                out_pointer,
            ],
            status,
        ),
        "RemoveEventHandler": ([pointer], status),
        "RegisterEventHotKey": (
            [uint32, uint32, EventHotKeyID, pointer, uint32, out_pointer],
            status,
        ),
        "UnregisterEventHotKey": ([pointer], status),
        "GetEventParameter": (
            [pointer, uint32, uint32, pointer, byte_count, pointer, pointer],
            status,
        ),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(carbon, name)
        function.argtypes, function.restype = argtypes, restype
    return carbon


class MacShortcut(GlobalShortcut):
    backend = "macos"
    _ids = itertools.count(1)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._carbon = load_carbon()
        self._id = next(self._ids)
        self._hot_key: ctypes.c_void_p | None = None
        # Kept referenced: Carbon calls it for as long as the handler lives.
        self._proc = EventHandlerProc(self._on_event)
        self._handler: ctypes.c_void_p | None = self._install_handler()

    def register(self, shortcut: Shortcut) -> None:
        self.unregister()
        code, modifiers = _translate(shortcut)

        hot_key = ctypes.c_void_p()
        status = self._carbon.RegisterEventHotKey(
            code,
            modifiers,
            EventHotKeyID(SIGNATURE, self._id),
            self._carbon.GetApplicationEventTarget(),
            0,
            ctypes.byref(hot_key),
        )
        if status != NO_ERR:
            raise ShortcutUnavailable(_refusal(shortcut, status))
        self._hot_key = hot_key
        log.info("global shortcut %s registered on macOS", shortcut.text)

    def unregister(self) -> None:
        if self._hot_key is None:
            return
        hot_key, self._hot_key = self._hot_key, None
        status = self._carbon.UnregisterEventHotKey(hot_key)
        if status != NO_ERR:
            log.warning("releasing the global shortcut failed (status %d)", status)
            return
        log.info("global shortcut unregistered")

    def close(self) -> None:
        """Release the hot key and the event handler (at quit)."""
        self.unregister()
        if self._handler is not None:
            self._carbon.RemoveEventHandler(self._handler)
            self._handler = None

    def _install_handler(self) -> ctypes.c_void_p:
        types = (EventTypeSpec * 1)(
            EventTypeSpec(K_EVENT_CLASS_KEYBOARD, K_EVENT_HOT_KEY_PRESSED)
        )
        handler = ctypes.c_void_p()
        status = self._carbon.InstallEventHandler(
            self._carbon.GetApplicationEventTarget(),
            self._proc,
            len(types),
            types,
            None,
            ctypes.byref(handler),
        )
        if status != NO_ERR:
            raise ShortcutUnavailable(
                f"macOS did not let Punchclock listen for hot keys (status {status})"
            )
        return handler

    def _on_event(self, call: int | None, event: int | None, data: int | None) -> int:
        # Called by Carbon on the main thread; must not raise.
        try:
            return self._handle(event)
        except Exception:
            log.exception("hot key event not handled")
            return EVENT_NOT_HANDLED_ERR

    def _handle(self, event: int | None) -> int:
        pressed = EventHotKeyID()
        status = self._carbon.GetEventParameter(
            event,
            K_EVENT_PARAM_DIRECT_OBJECT,
            TYPE_EVENT_HOT_KEY_ID,
            None,
            ctypes.sizeof(pressed),
            None,
            ctypes.byref(pressed),
        )
        ours = (pressed.signature, pressed.id) == (SIGNATURE, self._id)
        if status != NO_ERR or not ours or self._hot_key is None:
            return EVENT_NOT_HANDLED_ERR  # another handler's hot key
        log.debug("global shortcut pressed")
        self.activated.emit()
        return NO_ERR


def _translate(shortcut: Shortcut) -> tuple[int, int]:
    """The ``kVK_*`` code and Carbon modifier mask of ``shortcut``."""
    code = KEY_CODES.get(shortcut.key)
    if code is None:
        raise ShortcutUnavailable(
            f"macOS has no hot key code for {shortcut.key}; choose another "
            "shortcut in Settings"
        )
    if set(shortcut.modifiers) <= {"Alt", "Shift"}:
        # Refused since macOS 15 so that hot keys cannot log typed characters
        # like Ø: https://github.com/feedback-assistant/reports/issues/552
        raise ShortcutUnavailable(
            "macOS does not give shortcuts with only Option and Shift to apps; "
            "add ⌘ or ⌃ in Settings"
        )
    modifiers = 0
    for name in shortcut.modifiers:
        modifiers |= MODIFIERS[name]
    return code, modifiers


def _refusal(shortcut: Shortcut, status: int) -> str:
    if status == EVENT_HOT_KEY_EXISTS_ERR:
        return f"{shortcut.text} is taken by another app; choose another in Settings"
    return (
        f"macOS refused {shortcut.text} (status {status}); choose another "
        "shortcut in Settings"
    )
