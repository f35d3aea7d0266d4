"""Records the server rejected show in the tray's sync section, with each
one's kind, time and reason, and go back in line from there."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.store import Store
from sync.outbox import Outbox
from tests.sync.queueing import queue_uploads
from tests.ui.conftest import settle
from ui.services import Services
from ui.shell import Shell

REASON = "task name longer than 200 characters"


def menu_names(shell: Shell) -> dict[str, str]:
    shell.tray.menu.aboutToShow.emit()
    return {a.objectName(): a.text() for a in shell.tray.menu.actions()}


def quarantine_one(store: Store, clock: ManualClock, services: Services) -> None:
    """Two records queued; the server rejected the first (a project)."""
    queue_uploads(store, clock.now())
    services.add_project("Acme", "Design")
    outbox = Outbox(store)
    first = outbox.next_batch(clock.now(), 10, 1_000_000)[0]
    outbox.quarantine(first.item_id, REASON, clock.now())


def test_rejected_records_are_listed_and_retried_from_the_tray(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    store: Store,
    clock: ManualClock,
) -> None:
    assert "quarantine" not in menu_names(shell)
    quarantine_one(store, clock, services)
    settle(qtbot, shell)

    names = menu_names(shell)
    assert names["quarantine"] == "1 item rejected by the server…"
    line = next(a for a in shell.tray.menu.actions() if a.objectName() == "quarantine")
    line.trigger()
    qtbot.waitUntil(lambda: shell.quarantine is not None)
    dialog = shell.quarantine
    assert dialog is not None
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.isVisible)

    assert dialog.table.rowCount() == 1
    row = [dialog.table.item(0, column).text() for column in range(3)]
    when = clock.now().astimezone(services.tz())
    assert row == ["Project", f"{when:%a %d %b %H:%M}", REASON]
    assert dialog.retry_button.isEnabled()

    dialog.retry_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0)
    settle(qtbot, shell)

    counts = Outbox(store).counts(clock.now())
    assert counts.quarantined == 0
    assert counts.waiting == 2
    assert not dialog.retry_button.isEnabled()
    assert shell.model.sync.quarantined == 0
    assert "quarantine" not in menu_names(shell)
    dialog.close()
