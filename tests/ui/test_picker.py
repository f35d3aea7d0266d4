"""The "Switch to…" picker: search, keyboard, and adding what was typed."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from tests.ui.conftest import settle
from ui.picker import PickerDialog, matches, parse_new
from ui.services import Choice, Services
from ui.shell import Shell

CHOICES = [
    Choice("Acme"),
    Choice("Acme", "Design review"),
    Choice("Acme", "Invoices"),
    Choice("Globex"),
    Choice("Globex", "Design"),
]


def test_every_word_must_match_in_any_order_and_case() -> None:
    assert matches(Choice("Acme", "Design review"), "review acme")
    assert matches(Choice("Acme", "Design review"), "DES")
    assert not matches(Choice("Acme", "Invoices"), "acme design")


def test_typed_text_becomes_a_project_or_a_task() -> None:
    assert parse_new(" Initech ") == Choice("Initech")
    assert parse_new("Initech / TPS reports") == Choice("Initech", "TPS reports")
    assert parse_new(" / orphan task") is None


def test_search_filters_and_offers_to_add(qtbot: QtBot) -> None:
    picker = PickerDialog(CHOICES)
    qtbot.addWidget(picker)

    qtbot.keyClicks(picker.search, "design")

    assert picker.visible_labels() == [
        "    Design review  ·  Acme",
        "    Design  ·  Globex",
        "+ Add and start “design”",
    ]


def test_no_add_row_for_an_existing_name(qtbot: QtBot) -> None:
    picker = PickerDialog(CHOICES)
    qtbot.addWidget(picker)

    qtbot.keyClicks(picker.search, "globex")

    assert picker.visible_labels() == ["Globex", "    Design  ·  Globex"]


def test_keyboard_down_and_enter_pick_from_the_search_field(qtbot: QtBot) -> None:
    picker = PickerDialog(CHOICES)
    qtbot.addWidget(picker)
    picker.show()
    qtbot.keyClicks(picker.search, "acme")

    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    qtbot.keyClick(picker.search, Qt.Key.Key_Down)
    with qtbot.waitSignal(picker.accepted):
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)

    assert picker.choice == Choice("Acme", "Invoices")
    assert not picker.is_new


def test_picking_a_new_project_and_task_adds_them_and_starts(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    shell.open_picker()
    picker = shell.picker
    assert picker is not None
    qtbot.keyClicks(picker.search, "Initech / TPS reports")
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    settle(qtbot, shell)

    entry = services.current()
    assert entry is not None
    assert (entry.project, entry.task) == ("Initech", "TPS reports")
    assert Choice("Initech", "TPS reports") in services.choices()


def test_picker_switches_a_running_timer(
    qtbot: QtBot, shell: Shell, services: Services
) -> None:
    services.add_project("Acme", "Design")
    services.add_project("Globex", None)
    services.timer.start("Globex")
    settle(qtbot, shell)

    shell.open_picker()
    picker = shell.picker
    assert picker is not None
    qtbot.keyClicks(picker.search, "acme design")
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    settle(qtbot, shell)

    entry = services.current()
    assert entry is not None
    assert (entry.project, entry.task) == ("Acme", "Design")
