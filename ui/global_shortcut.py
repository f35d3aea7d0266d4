"""A shortcut that starts and stops the timer from any app, where allowed.

:class:`GlobalShortcut` is the capability: :meth:`~GlobalShortcut.register`
a :class:`Shortcut`, and ``activated`` is emitted on the UI thread each
time the worker presses it, whichever app has the focus. The back ends:

- X11 (:mod:`ui.global_shortcut_x11`): a key grab on the root window over
  an Xlib connection of its own, read by a socket notifier in Qt's event
  loop, so no thread and no polling;
- Windows (:mod:`ui.global_shortcut_win`): ``RegisterHotKey``, its
  ``WM_HOTKEY`` read from Qt's event loop by a native event filter;
- macOS (:mod:`ui.global_shortcut_mac`): a Carbon hot key, which needs no
  Accessibility permission, delivered to a Carbon event handler;
- :class:`NullShortcut` everywhere else, or when the system's API is
  missing, saying why: Wayland lets no app listen to keys pressed in other
  apps, and without a display there are no keys. The settings dialog shows
  the reason.

:func:`create_global_shortcut` picks the back end from Qt's platform and
imports it (and python-xlib or ctypes' system libraries) only when it is
used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence

log = logging.getLogger(__name__)

DEFAULT = "Ctrl+Alt+P"
# Modifiers in the order they are written, by their portable Qt names.
MODIFIERS = {
    "Ctrl": Qt.KeyboardModifier.ControlModifier,
    "Alt": Qt.KeyboardModifier.AltModifier,
    "Shift": Qt.KeyboardModifier.ShiftModifier,
    "Meta": Qt.KeyboardModifier.MetaModifier,
}
NOT_KEYS = (
    Qt.Key.Key_unknown,
    Qt.Key.Key_Control,
    Qt.Key.Key_Alt,
    Qt.Key.Key_Shift,
    Qt.Key.Key_Meta,
)
# At least one of these: a key with only Shift is a key the worker types.
HOLDING = ("Ctrl", "Alt", "Meta")
WAYLAND = (
    "Wayland does not let an app hear keys pressed in other apps. Add a "
    "shortcut in your desktop's keyboard settings that runs `punchclock "
    "start PROJECT` or `punchclock stop` instead."
)


class ShortcutError(ValueError):
    """A shortcut that cannot be used as written; the message says why."""


class ShortcutUnavailable(Exception):
    """The desktop does not give this shortcut to Punchclock; says why."""


@dataclass(frozen=True)
class Shortcut:
    """A key with modifiers, e.g. ``Shortcut(("Ctrl", "Alt"), "P")``."""

    modifiers: tuple[str, ...]
    key: str

    @property
    def text(self) -> str:
        """As Qt writes it portably, e.g. ``Ctrl+Alt+P``."""
        return "+".join((*self.modifiers, self.key))


def parse_shortcut(text: str) -> Shortcut | None:
    """``text`` as a shortcut, None for "" (no shortcut), or ShortcutError."""
    text = text.strip()
    if not text:
        return None
    sequence = QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText)
    if sequence.count() != 1:
        raise ShortcutError(
            f"{text!r} is not one key with modifiers; write it like {DEFAULT}"
        )
    combination = sequence[0]  # type: ignore[index]  # (PySide6's stubs lack it)
    key = combination.key()
    if key in NOT_KEYS:
        raise ShortcutError(
            f"{text!r} names no key besides the modifiers; write it like {DEFAULT}"
        )
    pressed = combination.keyboardModifiers()
    modifiers = tuple(name for name, flag in MODIFIERS.items() if pressed & flag)
    if not set(modifiers) & set(HOLDING):
        raise ShortcutError(
            f"{text!r} needs Ctrl, Alt or Meta (Super): without one it would "
            "take a key away from every app you type in"
        )
    name = QKeySequence(key).toString(QKeySequence.SequenceFormat.PortableText)
    return Shortcut(modifiers, name)


class GlobalShortcut(QObject):
    """The capability; every method is called on the UI thread."""

    activated = Signal()
    backend = "base"

    def register(self, shortcut: Shortcut) -> None:
        """Listen for ``shortcut`` (replacing any other); raises
        :class:`ShortcutUnavailable` when the desktop refuses it."""
        raise NotImplementedError

    def unregister(self) -> None:
        """Stop listening; safe to call when nothing is registered."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening and let go of the desktop (at quit)."""
        self.unregister()


class NullShortcut(GlobalShortcut):
    """Where no global shortcut can be had; says why."""

    backend = "null"

    def __init__(self, why: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.why = why

    def register(self, shortcut: Shortcut) -> None:
        raise ShortcutUnavailable(self.why)

    def unregister(self) -> None:
        return None


def create_global_shortcut(
    platform_name: str,
    environ: Mapping[str, str] | None = None,
    parent: QObject | None = None,
) -> GlobalShortcut:
    """The back end for Qt's platform (``QGuiApplication.platformName()``)."""
    env = os.environ if environ is None else environ
    try:
        native = _native_shortcut(platform_name, env, parent)
    except ShortcutUnavailable as error:
        log.warning("no global shortcut on %s: %s", platform_name, error)
        return NullShortcut(str(error), parent)
    if native is not None:
        return native
    if platform_name.startswith("wayland") or env.get("WAYLAND_DISPLAY"):
        return NullShortcut(WAYLAND, parent)
    return NullShortcut("there is no display to listen for keys on", parent)


def _native_shortcut(
    platform_name: str, env: Mapping[str, str], parent: QObject | None
) -> GlobalShortcut | None:
    """The system's back end, imported only here; None where there is none."""
    if platform_name == "xcb" and env.get("DISPLAY"):
        from ui.global_shortcut_x11 import X11Shortcut

        return X11Shortcut(env["DISPLAY"], parent)
    if platform_name == "windows":
        from ui.global_shortcut_win import WindowsShortcut

        return WindowsShortcut(parent)
    if platform_name == "cocoa":
        from ui.global_shortcut_mac import MacShortcut

        return MacShortcut(parent)
    return None
