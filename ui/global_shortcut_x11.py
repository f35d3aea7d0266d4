"""The global shortcut on X11: a passive key grab on the root window.

The grab is made over an Xlib connection of this module's own (Qt's xcb
connection is not Python's to use). The X server then sends the key press
to that connection whichever window has the focus; a
:class:`~PySide6.QtCore.QSocketNotifier` on the connection's socket wakes
Qt's event loop only when something arrives, and ``activated`` is emitted
right there, on the UI thread.

The same key is grabbed with Caps Lock and Num Lock on and off (they are
modifiers to X), so the shortcut works whatever their state. Another
program holding the same grab makes the server answer BadAccess: that is
reported as :class:`~ui.global_shortcut.ShortcutUnavailable`, with what
to do.
"""

from __future__ import annotations

import itertools
import logging

from PySide6.QtCore import QObject, QSocketNotifier
from Xlib import XK, X
from Xlib.display import Display
from Xlib.error import BadAccess, CatchError, DisplayError, XError

from ui.global_shortcut import GlobalShortcut, Shortcut, ShortcutUnavailable

log = logging.getLogger(__name__)

MASKS = {
    "Ctrl": X.ControlMask,
    "Alt": X.Mod1Mask,
    "Shift": X.ShiftMask,
    "Meta": X.Mod4Mask,
}
RELEVANT = X.ControlMask | X.Mod1Mask | X.ShiftMask | X.Mod4Mask
# Caps Lock and Num Lock: grabbed both ways, ignored when matching.
LOCKS = (X.LockMask, X.Mod2Mask)
# Qt's portable key names whose X keysym is named differently.
KEYSYM_NAMES = {
    "Space": "space",
    "Esc": "Escape",
    "Ins": "Insert",
    "Del": "Delete",
    "PgUp": "Prior",
    "PgDown": "Next",
    "Backspace": "BackSpace",
    "Print": "Print",
}


class X11Shortcut(GlobalShortcut):
    backend = "x11"

    def __init__(self, display_name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        try:
            self._display = Display(display_name)
        except (DisplayError, OSError) as error:
            raise ShortcutUnavailable(
                f"cannot reach the X display {display_name} ({error})"
            ) from error
        self._root = self._display.screen().root
        self._grabbed: tuple[int, int] | None = None
        self._notifier = QSocketNotifier(
            self._display.fileno(), QSocketNotifier.Type.Read, self
        )
        self._notifier.activated.connect(self._read_events)

    def register(self, shortcut: Shortcut) -> None:
        self.unregister()
        keycode = self._keycode(shortcut)
        modifiers = 0
        for name in shortcut.modifiers:
            modifiers |= MASKS[name]

        caught = CatchError(BadAccess)
        for locks in _lock_combinations():
            self._root.grab_key(
                keycode,
                modifiers | locks,
                True,
                X.GrabModeAsync,
                X.GrabModeAsync,
                onerror=caught,
            )
        self._display.sync()
        if caught.get_error() is not None:
            self._ungrab(keycode, modifiers)
            raise ShortcutUnavailable(
                f"{shortcut.text} is already taken by another program; choose "
                "another shortcut in Punchclock's settings"
            )
        self._grabbed = (keycode, modifiers)
        log.info("global shortcut %s registered on X11", shortcut.text)
        self._read_events()  # anything sync() read ahead of the notifier

    def unregister(self) -> None:
        if self._grabbed is None:
            return
        keycode, modifiers = self._grabbed
        self._grabbed = None
        self._ungrab(keycode, modifiers)
        log.info("global shortcut unregistered")

    def close(self) -> None:
        """Release the grab and the connection (at quit)."""
        self.unregister()
        self._notifier.setEnabled(False)
        self._display.close()

    def _keycode(self, shortcut: Shortcut) -> int:
        key = shortcut.key
        name = KEYSYM_NAMES.get(key, key.lower() if len(key) == 1 else key)
        keysym = XK.string_to_keysym(name)
        if keysym == X.NoSymbol and len(key) == 1:
            keysym = ord(key.lower())  # Latin-1 keysyms are their code points
        keycode = self._display.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            raise ShortcutUnavailable(
                f"this keyboard has no {key} key; choose another shortcut in "
                "Punchclock's settings"
            )
        return int(keycode)

    def _ungrab(self, keycode: int, modifiers: int) -> None:
        try:
            for locks in _lock_combinations():
                self._root.ungrab_key(keycode, modifiers | locks)
            self._display.sync()
        except XError as error:
            log.warning("releasing the global shortcut failed: %s", error)

    def _read_events(self) -> None:
        while self._display.pending_events():
            event = self._display.next_event()
            if event.type != X.KeyPress or self._grabbed is None:
                continue
            keycode, modifiers = self._grabbed
            held = event.state & RELEVANT  # not the locks, not mouse buttons
            if event.detail == keycode and held == modifiers:
                log.debug("global shortcut pressed")
                self.activated.emit()


def _lock_combinations() -> list[int]:
    combinations = [0]
    for count in range(1, len(LOCKS) + 1):
        for chosen in itertools.combinations(LOCKS, count):
            mask = 0
            for lock in chosen:
                mask |= lock
            combinations.append(mask)
    return combinations
