"""The uploader: drains the outbox into a target, batch after batch.

One :meth:`Uploader.run` sends due records in creation order until the
outbox is empty or a failure stops it, then the screenshot files. What a
failure does depends on its class (the reason is beside each decision in
:meth:`Uploader._on_failure`); while backing off, :meth:`Uploader.due` is
False, so a scheduler can call the uploader often without hammering a server
that is down. "Sync now" (``force``) skips the wait once.

Sync state (last success, waiting count, last error, ...) goes to a
:class:`StateSink` after every run, for the tray and ``punchclock doctor``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from agent.clock import Clock
from sync import protocol
from sync.backoff import BackoffPolicy
from sync.errors import (
    AuthError,
    BatchRejectedError,
    ConfigError,
    OfflineError,
    RedirectRefusedError,
    ServerBusyError,
    SyncError,
    TransientError,
)
from sync.outbox import GONE, Outbox, Pending, PendingScreenshot
from sync.targets import Target

log = logging.getLogger(__name__)

# After a failure that only the worker can fix (sign in again, fix the
# address), look again this rarely unless asked: the settings may change.
STOPPED_RETRY_S = 3600.0
# A batch the server fails on (500, 502, 504: not 503 or 429, which say it is
# busy) this many times in a row is taken apart to find the record at fault.
POISON_AFTER = 3
# Sent alone, a record the server fails on this many times more, while it
# stores others, is quarantined.
POISON_TRIES = 2


@dataclass
class SyncState:
    """What the worker sees about sync; published after every run."""

    target: str = ""
    last_success: str | None = None
    last_attempt: str | None = None
    last_error: str | None = None
    waiting: int = 0
    quarantined: int = 0
    next_attempt: str | None = None
    offline: bool = False
    needs_action: bool = False

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class StateSink(Protocol):
    def publish(self, state: SyncState) -> None: ...


@dataclass
class SyncReport:
    """What one run did."""

    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    dropped: int = 0
    screenshots: int = 0
    batches: int = 0
    error: str | None = None
    skipped: bool = False
    rejections: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return self.stored + self.duplicate + self.rejected


@dataclass(frozen=True)
class UploaderConfig:
    batch_count: int = 500
    batch_bytes: int = 1024 * 1024
    screenshots_dir: Path | None = None
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)


class Uploader:
    """Sends the outbox to one target. One run at a time (thread-safe)."""

    def __init__(
        self,
        outbox: Outbox,
        target: Target,
        clock: Clock,
        config: UploaderConfig | None = None,
        *,
        sink: StateSink | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.outbox = outbox
        self.target = target
        self._clock = clock
        self.config = config or UploaderConfig()
        self._sink = sink
        self._rand = rand
        self._run_lock = threading.Lock()
        self._failures = 0
        self._gate: float | None = None  # monotonic time before which we wait
        # (first item of the batch, server faults on it in a row)
        self._streak: tuple[int, int] = (0, 0)
        # The last server fault met while taking a batch apart.
        self._last_fault: ServerBusyError | None = None
        self.state = SyncState(target=target.name)

    def due(self) -> bool:
        """False while backing off after a failure."""
        return self._gate is None or self._clock.monotonic() >= self._gate

    def run(self, *, force: bool = False) -> SyncReport:
        """Upload everything due; ``force`` ignores the backoff (sync now)."""
        with self._run_lock:
            if not force and not self.due():
                return SyncReport(skipped=True)

            if force:
                # Sync now: items waiting out a backoff are due at once too.
                self.outbox.retry_now()
            report = SyncReport()
            now = self._clock.now()
            self.state.last_attempt = now.isoformat()
            try:
                self._drain(report)
                if self.target.supports_screenshots:
                    self._drain_screenshots(report)
            except SyncError as error:
                report.error = str(error)
            else:
                self._succeeded()
            self._publish()
            return report

    # -- records -------------------------------------------------------------------

    def _drain(self, report: SyncReport) -> None:
        while True:
            batch = self.outbox.next_batch(
                self._clock.now(), self.config.batch_count, self.config.batch_bytes
            )
            if not batch:
                return
            self._settle_unsendable(batch, report)
            sendable = [p for p in batch if p.record is not None]
            if not sendable:
                continue

            item_ids = [p.item_id for p in sendable]
            self.outbox.begin(item_ids)
            try:
                results = self._send_split(sendable)
            except ServerBusyError as error:
                if not self._repeated_fault(sendable, error):
                    self._on_failure(error, item_ids)
                    raise
                try:
                    self._isolate(sendable, error, report)
                except SyncError as later:
                    self._on_failure(later, item_ids)
                    raise
                report.batches += 1
                continue
            except SyncError as error:
                self._on_failure(error, item_ids)
                raise
            self._streak = (0, 0)
            self._apply(sendable, results, report)
            report.batches += 1

    def _settle_unsendable(self, batch: list[Pending], report: SyncReport) -> None:
        gone = [p.item_id for p in batch if p.record is None and p.problem == GONE]
        if gone:
            # Nothing left to send; the row's deletion is not a record.
            self.outbox.drop(gone, "their rows no longer exist")
            report.dropped += len(gone)
        now = self._clock.now()
        for pending in batch:
            if pending.record is None and pending.problem != GONE:
                # A kind this version cannot encode: set aside with the
                # reason; a newer version releases it with `sync --retry`.
                self.outbox.quarantine(pending.item_id, pending.problem or "", now)
                report.rejected += 1

    def _send_split(self, batch: list[Pending]) -> list[protocol.RecordResult]:
        """Send ``batch``; a batch refused as a whole is halved until the
        record at fault is alone, and that one is reported as rejected."""
        records = [p.record for p in batch if p.record is not None]
        maybe_sent = any(p.attempts > 0 for p in batch)
        try:
            return self.target.send_batch(records, maybe_sent=maybe_sent)
        except BatchRejectedError as error:
            if len(batch) == 1:
                return [_rejected(records[0], str(error))]
            log.warning("batch of %d refused (%s); splitting it", len(batch), error)
            middle = len(batch) // 2
            return self._send_split(batch[:middle]) + self._send_split(batch[middle:])

    # -- a record the server fails on every time ---------------------------------

    def _repeated_fault(self, batch: list[Pending], error: ServerBusyError) -> bool:
        """Count a server fault on this batch; True once it is a pattern."""
        if not error.server_fault:
            self._streak = (0, 0)
            return False
        first = batch[0].item_id
        count = self._streak[1] + 1 if self._streak[0] == first else 1
        self._streak = (first, count)
        return count >= POISON_AFTER

    def _isolate(
        self, batch: list[Pending], error: ServerBusyError, report: SyncReport
    ) -> None:
        """Send ``batch`` in halves, and halves of the halves that fail, until
        the records the server fails on are alone; quarantine them and let
        the rest go up.

        Only while the server stores other records (or, when none are left,
        answers an empty batch): when everything fails the server is down,
        not one record, and the batch waits as after any server fault.
        """
        log.warning(
            "the server failed %d times on a batch of %d (%s); "
            "sending it in parts to find the record at fault",
            POISON_AFTER,
            len(batch),
            error,
        )
        self._last_fault = error
        suspects: list[Pending] = []
        stored = self._bisect(batch, suspects, report)
        if suspects and not stored:
            stored = self._probe()
        if not stored:
            raise self._last_fault or error
        now = self._clock.now()
        for pending in suspects:
            reason = (
                f"the server fails on this record every time "
                f"({self._last_fault}); set aside so the records behind it go up"
            )
            self.outbox.quarantine(pending.item_id, reason, now)
            report.rejected += 1
            report.rejections.append(f"{pending.kind} {pending.record_id}: {reason}")
            log.warning(
                "%s %d quarantined: the server fails on it every time",
                pending.kind,
                pending.record_id,
            )
        self._streak = (0, 0)

    def _bisect(
        self, part: list[Pending], suspects: list[Pending], report: SyncReport
    ) -> bool:
        """Send ``part`` piecewise; collect the records that fail alone.
        Returns whether any record was stored."""
        if len(part) == 1:
            for _ in range(POISON_TRIES):
                results = self._try(part)
                if results is not None:
                    self._apply(part, results, report)
                    return True
            suspects.append(part[0])
            return False
        middle = len(part) // 2
        stored = False
        for half in (part[:middle], part[middle:]):
            results = self._try(half)
            if results is not None:
                self._apply(half, results, report)
                stored = True
            elif self._bisect(half, suspects, report):
                stored = True
        return stored

    def _try(self, part: list[Pending]) -> list[protocol.RecordResult] | None:
        """Results, or None when the server failed on ``part``."""
        try:
            return self._send_split(part)
        except ServerBusyError as error:
            if not error.server_fault:
                raise
            self._last_fault = error
            return None

    def _probe(self) -> bool:
        """Whether the server answers at all (an empty batch, where the
        target can send one)."""
        probe = getattr(self.target, "probe", None)
        if probe is None:
            return False
        try:
            probe()
        except ServerBusyError as error:
            if not error.server_fault:
                raise
            return False
        return True

    def _apply(
        self,
        sent: list[Pending],
        results: list[protocol.RecordResult],
        report: SyncReport,
    ) -> None:
        accepted: list[Pending] = []
        now = self._clock.now()
        for pending, result in zip(sent, results, strict=True):
            status = result.get("status")
            if status == protocol.REJECTED:
                # The server looked at this record and refused it: sending it
                # again cannot help, and it must not hold up the rest.
                reason = result.get("reason") or "rejected without a reason"
                self.outbox.quarantine(pending.item_id, reason, now)
                report.rejected += 1
                what = f"{pending.kind} {pending.record_id}"
                report.rejections.append(f"{what}: {reason}")
                log.warning(
                    "%s %d rejected by the server and quarantined: %s",
                    pending.kind,
                    pending.record_id,
                    reason,
                )
                continue
            accepted.append(pending)
            if status == protocol.STORED:
                report.stored += 1
            else:
                report.duplicate += 1
        self.outbox.done(accepted)

    # -- screenshots -----------------------------------------------------------------

    def _drain_screenshots(self, report: SyncReport) -> None:
        directory = self.config.screenshots_dir or Path()
        while True:
            items = self.outbox.next_screenshots(self._clock.now(), 50, directory)
            if not items:
                return
            for item in items:
                self._send_screenshot(item, report)

    def _send_screenshot(self, item: PendingScreenshot, report: SyncReport) -> None:
        now = self._clock.now()
        if item.path is None or item.meta is None:
            # Deleted by the worker, never taken, or gone: nothing to send.
            self.outbox.drop([item.item_id], item.problem or "nothing to send")
            report.dropped += 1
            return
        try:
            content = item.path.read_bytes()
        except OSError as error:
            # The file is missing or unreadable: resending will not find it.
            reason = f"screenshot file unreadable: {error.strerror or error}"
            self.outbox.quarantine(item.item_id, reason, now)
            report.rejected += 1
            return

        self.outbox.begin([item.item_id])
        try:
            self.target.send_screenshot(item.record_id, item.meta, content)
        except BatchRejectedError as error:
            self.outbox.quarantine(item.item_id, str(error), now)
            report.rejected += 1
            return
        except SyncError as error:
            self._on_failure(error, [item.item_id])
            raise
        self.outbox.screenshot_done(item, now)
        report.screenshots += 1

    # -- outcomes ----------------------------------------------------------------------

    def _on_failure(self, error: SyncError, item_ids: list[int]) -> None:
        self._failures += 1
        message = str(error)
        self.state.last_error = message
        self.state.offline = isinstance(error, OfflineError)

        if isinstance(error, TransientError):
            # The network or the server may recover: wait, doubling each
            # time, with jitter; a server's Retry-After wins when longer.
            delay = self.config.backoff.delay(self._failures, self._rand)
            if error.retry_after is not None:
                delay = max(delay, error.retry_after)
            self.state.needs_action = False
        elif isinstance(error, AuthError | ConfigError | RedirectRefusedError):
            # Only the worker can fix these (sign in, fix the address);
            # retrying sooner would be refused the same way.
            delay = STOPPED_RETRY_S
            self.state.needs_action = True
        else:
            delay = self.config.backoff.delay(self._failures, self._rand)

        self._gate = self._clock.monotonic() + delay
        retry_at = self._clock.now() + timedelta(seconds=delay)
        self.state.next_attempt = retry_at.isoformat()
        self.outbox.failed(item_ids, message, retry_at)
        log.warning("upload failed (%s); next attempt in %.0f s", message, delay)

    def _succeeded(self) -> None:
        if self._failures:
            log.info("upload works again after %d failure(s)", self._failures)
        self._failures = 0
        self._gate = None
        now = self._clock.now()
        self.state.last_success = now.isoformat()
        self.state.last_error = None
        self.state.offline = False
        self.state.needs_action = False
        self.state.next_attempt = None

    def _publish(self) -> None:
        counts = self.outbox.counts(self._clock.now())
        self.state.waiting = counts.waiting
        self.state.quarantined = counts.quarantined
        if self._sink is not None:
            self._sink.publish(self.state)


def _rejected(record: protocol.WireRecord, reason: str) -> protocol.RecordResult:
    return {
        "kind": record["kind"],
        "id": record["id"],
        "status": protocol.REJECTED,
        "reason": reason,
    }


def next_sync_after(now: datetime, slot_minutes: int, jitter_s: float) -> datetime:
    """Shortly after the slot that contains ``now`` ends, per-agent jittered."""
    slot = timedelta(minutes=slot_minutes)
    epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    ends = epoch + ((now - epoch) // slot + 1) * slot
    return ends + timedelta(seconds=jitter_s)
