"""The tray app collects reference cycles on the UI thread only."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from ui.app import _UiThreadCollector


@pytest.fixture
def collector(qtbot: QtBot) -> Iterator[_UiThreadCollector]:
    thresholds = gc.get_threshold()
    owner = QObject()
    collector = _UiThreadCollector(owner)
    yield collector
    gc.enable()
    gc.set_threshold(*thresholds)


class Node:
    def __init__(self) -> None:
        self.me = self


def test_automatic_collection_is_off_and_the_timer_collects(
    collector: _UiThreadCollector,
) -> None:
    assert not gc.isenabled()
    gc.collect()
    for _ in range(gc.get_threshold()[0] + 10):
        Node()
    assert gc.get_count()[0] > gc.get_threshold()[0]

    collector.check()
    assert gc.get_count()[0] < gc.get_threshold()[0]
