"""CSV that opens safely in a spreadsheet.

A spreadsheet runs a cell as a formula when its text starts with one of a few
characters, so a window title like ``=HYPERLINK(...)`` in an export could run
on the lead's machine (CSV injection). Following the OWASP guidance
(https://owasp.org/www-community/attacks/CSV_Injection), such a text cell is
neutralised by prefixing a single quote; everything else — quotes, commas,
newlines, any script — is left to the :mod:`csv` module's quoting and
round-trips unchanged. Numbers are written as numbers and never prefixed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# OWASP's list (= + - @ TAB CR), the full-width forms some spreadsheets also
# accept as operators, and LF, which some importers trim before parsing.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\n＝＋－＠")

Cell = str | int | float | None


def neutralise(text: str) -> str:
    """Return ``text`` with a leading quote if a spreadsheet would run it."""
    if text[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


def _cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """Render rows as CSV text (RFC 4180 line endings), text cells made safe.

    ``None`` becomes an empty cell. The header is written as given: it is the
    program's own text, not data.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return buffer.getvalue()
