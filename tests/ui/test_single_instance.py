"""One tray app per user and store: a second launch raises the first."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from ui.single_instance import SingleInstance, server_name


def test_second_claim_asks_the_first_to_show_itself(
    qtbot: QtBot, tmp_path: Path
) -> None:
    name = server_name(tmp_path / "data")
    first = SingleInstance(name)
    second = SingleInstance(name)
    assert first.claim()

    with qtbot.waitSignal(first.raise_requested, timeout=3000):
        assert not second.claim()

    first.release()


def test_a_socket_left_by_a_crashed_instance_is_taken_over(
    qtbot: QtBot, tmp_path: Path
) -> None:
    name = server_name(tmp_path / "data")
    crashed = SingleInstance(name)
    assert crashed.claim()
    crashed.release()  # the socket file of a dead process answers nobody

    fresh = SingleInstance(name)
    assert fresh.claim()
    with qtbot.waitSignal(fresh.raise_requested, timeout=3000):
        assert SingleInstance(name).ask_running_to_raise()
    fresh.release()


def test_names_differ_per_store(tmp_path: Path) -> None:
    assert server_name(tmp_path / "a") != server_name(tmp_path / "b")
    assert server_name(tmp_path / "a") == server_name(tmp_path / "a")
