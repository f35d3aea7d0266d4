"""What keeps the tray app light while it only sits in the tray (BRIEF P2):
no full consent read per store change, no periodic snapshot nobody sees,
and no module source kept by PySide6's import hook."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.consent import ConsentState
from ui.app import _scan_sources_without_caching
from ui.services import Services
from ui.shell import Shell


@pytest.fixture
def commands(shell: Shell) -> list[str]:
    """Names of the commands the shell's runner finished, in order."""
    names: list[str] = []
    shell.runner.finished.connect(lambda name, _result: names.append(name))
    return names


def test_store_changes_without_a_new_answer_cost_no_consent_read(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    clock: ManualClock,
    commands: list[str],
) -> None:
    services.consent.accept(services.collection())
    shell._poll_consent()
    qtbot.waitUntil(lambda: shell.model.consent is ConsentState.GIVEN)
    assert commands.count("consent-poll") == 1

    services.add_project("Acme", None)
    for _ in range(3):  # what the agent's flushes do every 5 s
        services.timer.start("Acme")
        clock.advance(60)
        services.timer.stop()
        shell._poll_consent()
    qtbot.waitUntil(lambda: shell.runner.idle)
    assert commands.count("consent-poll") == 1

    services.consent.decline()  # `punchclock consent revoke`
    shell._poll_consent()
    qtbot.waitUntil(lambda: shell.model.consent is ConsentState.DECLINED)
    assert commands.count("consent-poll") == 2


def test_the_periodic_snapshot_waits_while_nobody_looks(
    qtbot: QtBot, shell: Shell, clock: ManualClock, commands: list[str]
) -> None:
    model = shell.model
    clock.advance(60)
    model._refresh_if_needed()
    qtbot.waitUntil(lambda: shell.runner.idle)
    assert "refresh" not in commands

    shell.window.show()  # a window showing totals: read every minute
    model._refresh_if_needed()
    qtbot.waitUntil(lambda: "refresh" in commands)
    shell.window.hide()
    commands.clear()

    clock.advance(601)  # changes made elsewhere show within 10 minutes
    model._refresh_if_needed()
    qtbot.waitUntil(lambda: "refresh" in commands)


def test_a_new_day_takes_a_snapshot_though_nobody_looks(
    qtbot: QtBot, shell: Shell, clock: ManualClock, commands: list[str]
) -> None:
    model = shell.model
    before = model.now().astimezone(model.tz)
    to_midnight = 86400 - (before.hour * 3600 + before.minute * 60 + before.second)
    if to_midnight > 590:
        clock.advance(to_midnight - 5)
        model.refresh()
        qtbot.waitUntil(lambda: shell.runner.idle)
        commands.clear()

    clock.advance(10)
    model._refresh_if_needed()

    qtbot.waitUntil(lambda: "refresh" in commands)


def test_modules_imported_later_leave_no_source_in_memory(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feature = sys.modules["shibokensupport.feature"]
    uses = tmp_path / "uses_qt_probe.py"
    uses.write_text("import PySide6.QtCore\nVALUE = 1\n")
    plain = tmp_path / "plain_probe.py"
    plain.write_text("VALUE = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    _scan_sources_without_caching()
    # An import statement: PySide6's hook replaces the builtin __import__.
    __import__("uses_qt_probe")
    __import__("plain_probe")

    assert str(uses) not in linecache.cache
    assert str(plain) not in linecache.cache
    # The hook's answer is the one it gave before: PySide6 used or not.
    assert feature.pyside_feature_dict["uses_qt_probe"] == 0
    assert feature.pyside_feature_dict["plain_probe"] == -1
