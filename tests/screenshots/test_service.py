"""Captures stored, blurred, shared on collision, kept within the disk budget,
checked for blank frames, and deleted with their slot time."""

from __future__ import annotations

import hashlib
import io
import stat
from datetime import timedelta

import pytest
from PIL import Image, ImageFilter, ImageStat
from sqlalchemy import select, update

from agent.errors import UserError
from agent.screenshot_images import blank_reason
from agent.screenshots import (
    SKIP_DISK_FULL,
    ShotNotice,
    last_capture,
    thumbnail_path,
)
from agent.store.models import OutboxItem, Screenshot
from capture.base import HealthState
from capture.screenshot import Frame, Monitor
from tests.screenshots.conftest import START, ShotWorld, busy_image, uniform_frame
from tests.sync.queueing import queue_uploads


def _open(world: ShotWorld, relative: str) -> Image.Image:
    return Image.open(world.directory / relative)


@pytest.mark.posix
def test_a_capture_stores_each_monitor_scaled_and_private(
    shot_world: ShotWorld,
) -> None:
    shot_world.screen.frames = [
        Frame(Monitor(0, 0, 0, 1920, 1080), busy_image((1920, 1080))),
        Frame(Monitor(1, 1920, 0, 1280, 1024), busy_image((1280, 1024), seed=2)),
    ]
    entry_id = shot_world.start()
    notices: list[ShotNotice] = []
    service = shot_world.service(width=1280)
    service.add_listener(notices.append)

    capture = service.take_now().result(timeout=30)

    assert capture is not None
    assert len(capture.shot_ids) == 2
    first, second = shot_world.shots()
    assert (first.monitor, first.width, first.height) == (0, 1280, 720)
    assert (second.monitor, second.width, second.height) == (1, 1280, 1024)
    for shot in (first, second):
        path = shot_world.directory / shot.path
        data = path.read_bytes()
        assert shot.entry_id == entry_id
        assert shot.size_bytes == len(data)
        assert shot.sha256 == hashlib.sha256(data).hexdigest()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(thumbnail_path(path).stat().st_mode) == 0o600
        assert Image.open(io.BytesIO(data)).format == "JPEG"
    [notice] = notices
    assert notice.shot_ids == capture.shot_ids
    assert all(p.exists() for p in notice.thumbnails)
    assert Image.open(notice.thumbnails[0]).width == 240
    assert notice.deletable_until == notice.taken_at + timedelta(seconds=300)


def test_upload_waits_for_the_grace_period(shot_world: ShotWorld) -> None:
    queue_uploads(shot_world.store)
    shot_world.start()
    service = shot_world.service(grace_seconds=120)
    service.take_now().result(timeout=30)

    with shot_world.store.read() as session:
        [item] = session.scalars(
            select(OutboxItem).where(OutboxItem.kind == "screenshot")
        ).all()
    assert item.kind == "screenshot"
    assert item.next_attempt_at == START + timedelta(seconds=120)


def test_webp_when_policy_asks(shot_world: ShotWorld) -> None:
    shot_world.start()
    shot_world.service(format="webp").take_now().result(timeout=30)
    [shot] = shot_world.shots()
    assert shot.path.endswith(".webp")
    assert _open(shot_world, shot.path).format == "WEBP"


def _sharpness(image: Image.Image) -> float:
    edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
    return ImageStat.Stat(edges).mean[0]


def test_a_blurred_shot_is_blurred_on_disk_and_in_its_thumbnail(
    shot_world: ShotWorld,
) -> None:
    shot_world.start()
    shot_world.service().take_now().result(timeout=30)
    shot_world.service(blur=True).take_now().result(timeout=30)

    sharp, blurred = shot_world.shots()
    assert (sharp.blurred, blurred.blurred) == (False, True)
    sharp_image = _open(shot_world, sharp.path)
    blurred_image = _open(shot_world, blurred.path)
    assert sharp_image.size == blurred_image.size
    # Text edges are what blur removes: a fraction of them survives.
    assert _sharpness(blurred_image) < _sharpness(sharp_image) / 4
    sharp_thumb = Image.open(thumbnail_path(shot_world.directory / sharp.path))
    blurred_thumb = Image.open(thumbnail_path(shot_world.directory / blurred.path))
    assert _sharpness(blurred_thumb) < _sharpness(sharp_thumb) / 2


def test_colliding_captures_share_one_grab(shot_world: ShotWorld) -> None:
    import threading

    shot_world.start()
    service = shot_world.service()
    shot_world.screen.hold = threading.Event()

    scheduled = service.take_now()
    assert shot_world.screen.grabbing.wait(timeout=30)
    manual = service.take_now()
    shot_world.screen.hold.set()

    assert manual is scheduled
    assert scheduled.result(timeout=30) is not None
    assert shot_world.screen.grabs == 1
    assert len(shot_world.shots()) == 1
    # Once it is done, the next request is a capture of its own.
    service.take_now().result(timeout=30)
    assert shot_world.screen.grabs == 2


@pytest.mark.parametrize(
    ("colour", "reason"),
    [((0, 0, 0), "black frame"), ((58, 110, 165), "uniform frame")],
)
def test_blank_frames_are_a_fault_reported_once(
    shot_world: ShotWorld,
    colour: tuple[int, int, int],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    shot_world.start()
    shot_world.screen.frames = [uniform_frame(colour)]
    service = shot_world.service()

    for _ in range(3):
        service.take_now().result(timeout=30)

    shots = shot_world.shots()
    assert [s.skipped_reason for s in shots] == [reason] * 3
    assert list(shot_world.directory.rglob("*.*")) == []
    health = service.health()
    assert health.state is HealthState.UNAVAILABLE
    assert reason in health.reason
    assert "Screen Recording" in health.fix
    faults = [r for r in caplog.records if "screenshot fault" in r.getMessage()]
    assert len(faults) == 1

    shot_world.screen.frames = [Frame(Monitor(0, 0, 0, 1920, 1080), busy_image())]
    service.take_now().result(timeout=30)
    assert service.health().ok


def test_a_blank_monitor_beside_a_working_one_is_left_out(
    shot_world: ShotWorld,
) -> None:
    shot_world.start()
    shot_world.screen.frames = [
        Frame(Monitor(0, 0, 0, 1920, 1080), busy_image()),
        uniform_frame((0, 0, 0), index=1),
    ]
    service = shot_world.service()
    service.take_now().result(timeout=30)
    [shot] = shot_world.shots()
    assert shot.monitor == 0
    assert service.health().ok


def test_blank_reason_sees_content() -> None:
    assert blank_reason(busy_image()) is None
    assert blank_reason(Image.new("RGB", (640, 480), (3, 3, 3))) == "black frame"


def _uploaded(world: ShotWorld, count: int) -> None:
    with world.store.write() as session:
        ids = session.scalars(
            select(Screenshot.id)
            .where(Screenshot.skipped_reason.is_(None))
            .order_by(Screenshot.taken_at)
            .limit(count)
        ).all()
        session.execute(
            update(Screenshot)
            .where(Screenshot.id.in_(ids))
            .values(uploaded_at=world.clock.now())
        )


def test_disk_budget_prunes_uploaded_oldest_first_and_keeps_the_rest(
    shot_world: ShotWorld,
) -> None:
    shot_world.start()
    # Noise compresses badly: a few dozen images fill 10 MB.
    noise = Image.effect_noise((1280, 720), 90).convert("RGB")
    shot_world.screen.frames = [Frame(Monitor(0, 0, 0, 1280, 720), noise)]
    service = shot_world.service(disk_budget_mb=10, quality=95)
    budget = 10 * 1024 * 1024

    for _ in range(60):
        capture = service.take_now().result(timeout=30)
        shot_world.clock.advance(60)
        if capture is not None and capture.skipped:
            break
    shots = shot_world.shots()
    stored = [s for s in shots if s.skipped_reason is None]
    skipped = [s for s in shots if s.skipped_reason == SKIP_DISK_FULL]
    # Nothing uploaded: nothing removed, and the shots over budget skipped.
    assert skipped
    assert all(s.pruned_at is None for s in stored)
    assert all((shot_world.directory / s.path).exists() for s in stored)
    assert service.health().state is HealthState.UNAVAILABLE
    assert "wait for upload" in service.health().reason

    _uploaded(shot_world, 3)
    service.take_now().result(timeout=30)

    shots = shot_world.shots()
    pruned = [s for s in shots if s.pruned_at is not None]
    uploaded = sorted(
        (s for s in shots if s.uploaded_at is not None), key=lambda s: s.taken_at
    )
    assert pruned
    assert pruned == uploaded[: len(pruned)]
    assert all(not (shot_world.directory / s.path).exists() for s in pruned)
    assert all(
        (shot_world.directory / s.path).exists()
        for s in shots
        if s.skipped_reason is None and s.uploaded_at is None
    )
    assert shots[-1].skipped_reason is None
    assert service.used_bytes() < budget
    assert service.health().ok


def test_deleting_within_grace_removes_files_and_the_slot_time(
    shot_world: ShotWorld,
) -> None:
    shot_world.clock.advance(30)  # 09:00:30, inside the 09:00 slot
    shot_world.start()
    shot_world.clock.advance(200)
    service = shot_world.service()
    capture = service.take_now().result(timeout=30)
    assert capture is not None
    shot_world.clock.advance(100)  # 09:05:30

    deletion = service.delete(capture.shot_ids[0])

    # The slot so far (09:00:30 to 09:05:30) is gone; the timer goes on.
    assert deletion.removed_seconds == pytest.approx(300)
    [shot] = shot_world.shots()
    assert shot.deleted_at == shot_world.clock.now()
    assert (shot.deleted_by, shot.removed_seconds, shot.path) == ("worker", 300, "")
    assert list(shot_world.directory.rglob("*.*")) == []
    [entry] = shot_world.entries()
    assert entry.start == shot_world.clock.now()
    assert entry.end is None


def test_deleting_cuts_the_slot_out_of_a_longer_entry(shot_world: ShotWorld) -> None:
    shot_world.clock.advance(-1800)  # 08:30
    shot_world.start()
    shot_world.clock.advance(1800 + 240)  # 09:04
    service = shot_world.service()
    capture = service.take_now().result(timeout=30)
    assert capture is not None
    shot_world.timer.stop()
    shot_world.clock.advance(60)  # 09:05, entry ended 09:04

    deletion = service.delete(capture.shot_ids[0])

    assert deletion.removed_seconds == pytest.approx(240)
    [entry] = shot_world.entries()
    assert (entry.start, entry.end) == (START - timedelta(minutes=30), START)


def test_deleting_can_keep_the_time(shot_world: ShotWorld) -> None:
    shot_world.start()
    service = shot_world.service(delete_removes_time=False)
    capture = service.take_now().result(timeout=30)
    assert capture is not None
    shot_world.clock.advance(60)
    assert service.delete(capture.shot_ids[0]).removed_seconds == 0
    [entry] = shot_world.entries()
    assert entry.start == START


def test_deleting_after_the_grace_period_is_refused(shot_world: ShotWorld) -> None:
    shot_world.start()
    service = shot_world.service(grace_seconds=60)
    capture = service.take_now().result(timeout=30)
    assert capture is not None
    shot_world.clock.advance(61)

    with pytest.raises(UserError, match="no longer be deleted"):
        service.delete(capture.shot_ids[0])
    [shot] = shot_world.shots()
    assert shot.deleted_at is None
    assert (shot_world.directory / shot.path).exists()


def test_last_capture_follows_a_shot_from_taken_to_deleted(
    shot_world: ShotWorld,
) -> None:
    assert last_capture(shot_world.store, shot_world.directory) is None
    shot_world.screen.frames = [
        Frame(Monitor(0, 0, 0, 1920, 1080), busy_image((1920, 1080))),
        Frame(Monitor(1, 1920, 0, 1280, 1024), busy_image((1280, 1024), seed=2)),
    ]
    shot_world.start()
    service = shot_world.service()
    capture = service.take_now().result(timeout=30)
    assert capture is not None

    shown = last_capture(shot_world.store, shot_world.directory)

    assert shown is not None
    assert (shown.taken_at, shown.shot_ids) == (capture.taken_at, capture.shot_ids)
    assert [Image.open(path).width for path in shown.thumbnails] == [240, 240]
    assert (shown.deleted_at, shown.uploaded, shown.pruned) == (None, False, False)

    shot_world.clock.advance(30)
    service.delete(capture.shot_ids[1])
    shown = last_capture(shot_world.store, shot_world.directory)

    assert shown is not None
    assert shown.thumbnails == ()
    assert (shown.deleted_at, shown.deleted_by) == (shot_world.clock.now(), "worker")


def test_last_capture_says_an_image_was_pruned_after_upload(
    shot_world: ShotWorld,
) -> None:
    shot_world.start()
    service = shot_world.service()
    capture = service.take_now().result(timeout=30)
    assert capture is not None
    _uploaded(shot_world, 1)
    with shot_world.store.write() as session:
        session.execute(update(Screenshot).values(pruned_at=shot_world.clock.now()))

    shown = last_capture(shot_world.store, shot_world.directory)

    assert shown is not None
    assert (shown.uploaded, shown.pruned, shown.thumbnails) == (True, True, ())
