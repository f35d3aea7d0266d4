"""The timeline's Value tab over a real store holding a units record beyond
the bounds (as an earlier version let in): a caption naming the record, no
traceback; the week shows once the record is deleted."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pytestqt.qtbot import QtBot

from agent.value import ValueBook, baseline_from, value_report
from tests.money.conftest import BERLIN, Desk, settings_from
from ui.value_panel import ValuePanel


def test_the_value_tab_names_a_record_it_cannot_compute_with(
    qtbot: QtBot, desk: Desk
) -> None:
    book = ValueBook(desk.store, desk.clock)
    book.set_baselines([baseline_from("Build", "30", "60", "", "EUR")])
    book.add_units(
        [
            ("Build", date(2026, 3, 16), Decimal(4), None),
            ("Build", date(2026, 3, 17), Decimal("1e308"), "typo"),
        ]
    )
    settings = settings_from({"rates": {"rate": [{"amount": 20, "kind": "bill"}]}})
    panel = ValuePanel(
        lambda first, last, tz: value_report(
            desk.store, settings, tz, first, last, desk.clock.now()
        ),
        "monday",
    )
    qtbot.addWidget(panel)
    bad = next(r for r in book.units_records() if r.note == "typo")

    panel.show_day(date(2026, 3, 18), BERLIN)

    assert panel.caption.text().startswith("The value report cannot be shown:")
    assert f"units record {bad.id} (build, 2026-03-17)" in panel.caption.text()
    assert panel.table.rowCount() == 0

    book.delete_units(bad.id)
    panel.show_day(date(2026, 3, 18), BERLIN)

    assert panel.table.rowCount() == 1
    assert panel.table.item(0, 1).text() == "4"
