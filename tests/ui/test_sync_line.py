"""The tray's sync line: what it says for each published sync state."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.store import Store
from sync.outbox import Outbox
from sync.service import StoreSink
from sync.uploader import SyncState
from tests.sync.queueing import queue_uploads
from tests.ui.conftest import settle
from ui.icons import TrayState
from ui.services import Services, SyncStatus
from ui.shell import Shell
from ui.tray import sync_line

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SERVER = "https://time.example.com"


@pytest.mark.parametrize(
    ("status", "line"),
    [
        (SyncStatus(), "Sync: not connected to a server"),
        (
            SyncStatus(SERVER, last_success=NOW - timedelta(minutes=2)),
            "Synced 2 min ago",
        ),
        (
            SyncStatus(SERVER, last_success=NOW - timedelta(seconds=20)),
            "Synced just now",
        ),
        (
            SyncStatus(SERVER, waiting=3, last_success=NOW - timedelta(hours=5)),
            "Synced 5 h ago — 3 items waiting",
        ),
        (
            SyncStatus(
                SERVER, waiting=312, last_error="connection refused", offline=True
            ),
            "Offline — 312 items waiting",
        ),
        (
            SyncStatus(SERVER, waiting=1, last_error="server said 503", offline=False),
            "Last upload failed: server said 503",
        ),
        (SyncStatus(SERVER, waiting=1), "Not synced yet — 1 item waiting"),
    ],
)
def test_sync_line(status: SyncStatus, line: str) -> None:
    assert sync_line(status, NOW) == line


def test_a_long_reason_is_shortened_to_one_line() -> None:
    status = SyncStatus(SERVER, last_error="refused:\n" + "x" * 200)
    line = sync_line(status, NOW)
    assert line.startswith("Last upload failed: refused: xxx")
    assert line.endswith("…")
    assert "\n" not in line
    assert len(line) <= len("Last upload failed: ") + 48


def _connect(qtbot: QtBot, shell: Shell, services: Services) -> None:
    sync = dataclasses.replace(services.settings.sync, server_url=SERVER)
    services.settings = dataclasses.replace(services.settings, sync=sync)
    settle(qtbot, shell)


def _line(shell: Shell) -> str:
    shell.tray.menu.aboutToShow.emit()
    return next(a.text() for a in shell.tray.menu.actions() if a.objectName() == "sync")


def test_the_menu_reads_the_published_state(
    qtbot: QtBot, shell: Shell, services: Services, store: Store, clock: ManualClock
) -> None:
    assert _line(shell) == "Sync: not connected to a server"
    assert not _action(shell, "sync-now").isEnabled()

    success = clock.now() - timedelta(minutes=2)
    StoreSink(store).publish(SyncState(last_success=success.isoformat()))
    _connect(qtbot, shell, services)
    assert _line(shell) == "Synced 2 min ago"
    assert _action(shell, "sync-now").isEnabled()


def test_offline_counts_what_waits_in_the_outbox(
    qtbot: QtBot, shell: Shell, services: Services, store: Store, clock: ManualClock
) -> None:
    queue_uploads(store)
    services.add_project("Acme", None)
    services.timer.start("Acme")
    clock.advance(60)
    services.timer.stop()
    waiting = Outbox(store).counts(clock.now()).waiting
    assert waiting > 0

    state = SyncState(last_error="connection refused", offline=True)
    StoreSink(store).publish(state)
    _connect(qtbot, shell, services)
    assert _line(shell) == f"Offline — {waiting} items waiting"
    assert shell.model.state() is TrayState.STOPPED  # offline is no fault


def test_a_sync_that_needs_the_worker_shows_as_a_fault(
    qtbot: QtBot, shell: Shell, services: Services, store: Store
) -> None:
    reason = f"not signed in to {SERVER}"
    StoreSink(store).publish(SyncState(last_error=reason, needs_action=True))
    _connect(qtbot, shell, services)

    assert _line(shell) == f"Last upload failed: {reason}"
    assert shell.model.state() is TrayState.FAULT
    assert "Sync problem" in shell.tray.icon.toolTip()


def _action(shell: Shell, name: str) -> QAction:
    shell.tray.menu.aboutToShow.emit()
    return next(a for a in shell.tray.menu.actions() if a.objectName() == name)
