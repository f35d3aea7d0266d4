"""The screenshot notice: thumbnails, countdown, Delete within the grace."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from agent.screenshots import ShotNotice
from ui.screenshot_notice import ScreenshotNotices

TAKEN = datetime(2026, 1, 5, 9, 3, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = TAKEN

    def __call__(self) -> datetime:
        return self.now


def _notice(tmp_path: Path, grace: int | None = 300) -> ShotNotice:
    thumb = tmp_path / "1.thumb.jpg"
    Image.new("RGB", (240, 135), (30, 60, 200)).save(thumb)
    return ShotNotice(
        shot_ids=(1,),
        taken_at=TAKEN,
        slot_start=TAKEN.replace(minute=0),
        thumbnails=(thumb,),
        blurred=True,
        deletable_until=TAKEN + timedelta(seconds=grace) if grace else None,
        removes_time=True,
    )


def test_delete_within_the_grace_calls_the_agent(
    qtbot: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    calls: list[int] = []

    def delete(shot_id: int, done: Callable[[Any], None]) -> None:
        calls.append(shot_id)
        done("deleted")

    clock = Clock()
    notices = ScreenshotNotices(delete, clock)
    notices.bridge.on_notice(_notice(tmp_path))
    widget = notices.current
    assert widget is not None
    qtbot.addWidget(widget)
    assert widget.delete_button.isEnabled()
    assert "delete it and this slot's time for 5:00" in widget.status.text()
    assert "(blurred)" in widget.status.text()
    widget.grab().save(str(artifacts_dir / "screenshot-notice.png"))

    with qtbot.waitSignal(widget.deleted):
        widget.delete_button.click()
    assert calls == [1]


def test_the_button_goes_when_the_grace_is_over(qtbot: Any, tmp_path: Path) -> None:
    clock = Clock()
    notices = ScreenshotNotices(lambda shot_id, done: None, clock)
    notices.bridge.on_notice(_notice(tmp_path, grace=60))
    widget = notices.current
    assert widget is not None
    qtbot.addWidget(widget)

    clock.now = TAKEN + timedelta(seconds=59)
    widget.refresh()
    assert widget.delete_button.isEnabled()
    assert "0:01" in widget.status.text()

    clock.now = TAKEN + timedelta(seconds=61)
    widget.refresh()
    assert not widget.delete_button.isEnabled()
    assert not widget.isVisible()


@pytest.mark.parametrize("grace", [None])
def test_without_grace_it_only_informs(
    qtbot: Any, tmp_path: Path, grace: int | None
) -> None:
    notices = ScreenshotNotices(lambda shot_id, done: None, Clock())
    notices.bridge.on_notice(_notice(tmp_path, grace=grace))
    widget = notices.current
    assert widget is not None
    qtbot.addWidget(widget)
    assert widget.delete_button.isHidden()
    assert "delete" not in widget.status.text()


def test_thumbnails_are_decoded_on_the_screenshot_thread(
    qtbot: Any, tmp_path: Path
) -> None:
    import threading

    from PySide6.QtWidgets import QLabel

    notices = ScreenshotNotices(lambda shot_id, done: None, Clock())
    emitted: list[tuple[str, list[Any]]] = []
    notices.bridge.shot_taken.connect(
        lambda _notice, images: emitted.append(
            (threading.current_thread().name, images)
        ),
        type=Qt.ConnectionType.DirectConnection,
    )
    worker = threading.Thread(
        target=notices.bridge.on_notice, args=(_notice(tmp_path),), name="screenshot"
    )

    with qtbot.waitSignal(notices.bridge.shot_taken):
        worker.start()
    worker.join()
    qtbot.waitUntil(lambda: notices.current is not None)

    [(thread, images)] = emitted
    assert thread == "screenshot"
    assert [(i.width(), i.height()) for i in images] == [(240, 135)]
    widget = notices.current
    assert widget is not None
    qtbot.addWidget(widget)
    pictures = [
        label.pixmap()
        for label in widget.findChildren(QLabel)
        if not label.pixmap().isNull()
    ]
    assert [(p.width(), p.height()) for p in pictures] == [(240, 135)]
    assert pictures[0].toImage().pixelColor(120, 60).blue() > 150


def test_an_unreadable_thumbnail_is_left_out(qtbot: Any, tmp_path: Path) -> None:
    notice = _notice(tmp_path)
    notice.thumbnails[0].write_bytes(b"not a picture")
    notices = ScreenshotNotices(lambda shot_id, done: None, Clock())
    notices.bridge.on_notice(notice)
    widget = notices.current
    assert widget is not None
    qtbot.addWidget(widget)
    assert "Screenshot taken" in widget.status.text()


def _shot(tmp_path: Path, shot_id: int, after: int, colour: int) -> ShotNotice:
    """Capture ``shot_id`` taken ``after`` seconds past TAKEN, 300 s grace."""
    thumb = tmp_path / f"{shot_id}.thumb.jpg"
    Image.new("RGB", (240, 135), (colour, 60, 90)).save(thumb)
    taken = TAKEN + timedelta(seconds=after)
    return ShotNotice(
        shot_ids=(shot_id,),
        taken_at=taken,
        slot_start=TAKEN.replace(minute=0),
        thumbnails=(thumb,),
        blurred=False,
        deletable_until=taken + timedelta(seconds=300),
        removes_time=True,
    )


def test_earlier_shots_keep_their_delete_while_deletable(
    qtbot: Any, tmp_path: Path, artifacts_dir: Path
) -> None:
    """Three shots in a slot, two minutes apart, 300 s to delete each: every
    one keeps its own Delete and countdown until its grace is over."""
    calls: list[int] = []

    def delete(shot_id: int, done: Callable[[Any], None]) -> None:
        calls.append(shot_id)
        done(f"deleted {shot_id}")

    clock = Clock()
    notices = ScreenshotNotices(delete, clock)
    notices.bridge.on_notice(_shot(tmp_path, 1, 0, 200))
    window = notices.current
    assert window is not None
    qtbot.addWidget(window)
    clock.now = TAKEN + timedelta(seconds=120)
    notices.bridge.on_notice(_shot(tmp_path, 2, 120, 120))
    clock.now = TAKEN + timedelta(seconds=240)
    notices.bridge.on_notice(_shot(tmp_path, 3, 240, 40))
    window.refresh()

    assert notices.current is window
    assert [card.notice.shot_ids for card in window.cards] == [(1,), (2,), (3,)]
    texts = [card.status.text() for card in window.cards]
    assert "for 1:00" in texts[0]
    assert "for 3:00" in texts[1]
    assert "for 5:00" in texts[2]
    assert all(card.delete_button.isEnabled() for card in window.cards)
    assert all(card.isVisible() for card in window.cards)
    # Side by side, the newest first.
    lefts = [card.geometry().left() for card in window.cards]
    assert lefts == sorted(lefts, reverse=True)
    window.grab().save(str(artifacts_dir / "screenshot-notice-three.png"))

    first = window.cards[0]
    with qtbot.waitSignal(window.deleted) as deleted:
        first.delete_button.click()
    assert calls == [1]
    assert deleted.args == ["deleted 1"]
    assert [card.notice.shot_ids for card in window.cards] == [(2,), (3,)]
    assert window.isVisible()

    clock.now = TAKEN + timedelta(seconds=421)  # shot 2's grace is over
    window.refresh()
    assert [card.notice.shot_ids for card in window.cards] == [(3,)]
    assert window.delete_button.isEnabled()
    assert "for 1:59" in window.status.text()

    clock.now = TAKEN + timedelta(seconds=541)  # and shot 3's
    window.refresh()
    assert not window.isVisible()
    assert not window.delete_button.isEnabled()

    # The next capture opens the notice afresh.
    notices.bridge.on_notice(_shot(tmp_path, 4, 600, 90))
    assert notices.current is not window
    assert notices.current is not None
    qtbot.addWidget(notices.current)
    assert [card.notice.shot_ids for card in notices.current.cards] == [(4,)]


def test_a_shot_that_cannot_be_deleted_makes_way_for_the_next(
    qtbot: Any, tmp_path: Path
) -> None:
    clock = Clock()
    notices = ScreenshotNotices(lambda shot_id, done: None, clock)
    notices.bridge.on_notice(_notice(tmp_path, grace=None))
    window = notices.current
    assert window is not None
    qtbot.addWidget(window)
    clock.now = TAKEN + timedelta(seconds=2)
    notices.bridge.on_notice(_shot(tmp_path, 2, 2, 120))

    assert notices.current is window
    assert [card.notice.shot_ids for card in window.cards] == [(2,)]
