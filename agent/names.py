"""Text a person types that the store keeps: names and notes.

Names are compared the way people read them, not byte for byte:

- every name and note is stored in Unicode NFC, so ``école`` typed with a
  precomposed ``é`` and with ``e`` plus a combining accent is one name;
- names are compared with full Unicode case folding (:func:`fold`), so
  ``Übersetzung``, ``übersetzung`` and ``ÜBERSETZUNG`` are one project.
  SQLite's own ``lower()`` folds ASCII only; the store registers
  :func:`fold` on every connection as the SQL function ``pc_fold``
  (:mod:`agent.store.engine`) so lookups can fold on both sides.

Control characters never enter: a line break or tab becomes a space, any
other C0/C1 control (escape sequences, bell, backspace) is dropped, so a
name or note cannot fake table rows or drive the terminal. Bidi embeddings,
overrides and isolates are refused with a message: they can make a line
read differently from what it says.
"""

from __future__ import annotations

import unicodedata

from agent.errors import UserError

SQL_FOLD = "pc_fold"
"""The SQL function the store registers: ``pc_fold(text)`` = :func:`fold`."""

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069)."""


def fold(text: str) -> str:
    """``text`` as names are compared: NFC, then full Unicode case folding."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def sql_fold(text: str | None) -> str | None:
    """:func:`fold` for SQLite: NULL (and any non-text value) passes through."""
    return fold(text) if isinstance(text, str) else text


def clean_text(text: str, what: str) -> str:
    """``text`` in NFC with line breaks as spaces and other controls dropped;
    :class:`UserError` when it holds a bidi control."""
    text = unicodedata.normalize("NFC", text)
    if any(char in BIDI_CONTROLS for char in text):
        raise UserError(
            f"a {what} cannot contain bidi control characters "
            "(U+202A–202E, U+2066–2069); type it without them"
        )
    return "".join(_without_control(char) for char in text)


def _without_control(char: str) -> str:
    if unicodedata.category(char) != "Cc":
        return char
    return " " if char.isspace() else ""


def shown(text: str) -> str:
    """``text`` safe to print in a terminal line: a control character shows as
    a space (line breaks, tabs) or U+FFFD, bidi controls are left out.

    Input is cleaned already (:func:`clean_text`); this is the second fence,
    for text stored before that or written by other programs.
    """
    return "".join(_shown(char) for char in text)


def _shown(char: str) -> str:
    if char in BIDI_CONTROLS:
        return ""
    if unicodedata.category(char) != "Cc":
        return char
    return " " if char.isspace() else "\ufffd"
