"""Review bundles and row exports for a lead.

A **review bundle** is one zip file a worker can hand to a lead who has no
server: ``records.json`` (entries, spans, slots with activity and flags,
idle periods, breaks, screenshot rows, all in UTC milliseconds), the
screenshot images and thumbnails under ``screenshots/``, and
``manifest.json`` naming every member with its SHA-256 and size. Opening a
bundle (:meth:`BundleSource.open`) checks every member against the manifest
and refuses the whole bundle, with the member and the reason, when one was
changed, added or removed. The manifest itself is not signed: its own
SHA-256 (the bundle's *fingerprint*, printed at export and shown when the
bundle is opened) is what a worker and a lead compare to know that the
manifest is the one exported.

**Row exports** (``punchclock export --format csv|json --by KIND``) write
slots, spans, idle periods, breaks or flags of a range as rows; CSV cells
are made spreadsheet-safe by :mod:`agent.csvsafe`. The report groupings (day,
project, task, app, title, domain) go through :mod:`agent.report`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent import __version__
from agent.csvsafe import Cell, to_csv
from agent.errors import UserError
from agent.report import day_start, domain_of
from agent.store import Store
from agent.timeline import (
    BreakRow,
    EntryRow,
    IdleRow,
    Records,
    ScreenshotRow,
    SlotRow,
    SpanRow,
    Totals,
    thumbnail_key,
    totals_of,
)

log = logging.getLogger(__name__)

BUNDLE_FORMAT = "punchclock-review-bundle"
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
RECORDS = "records.json"
SCREENSHOTS = "screenshots/"
# A bundle is read whole into memory to be checked; refuse absurd ones.
MAX_MEMBER_BYTES = 64 * 1024 * 1024

_KINDS: dict[str, Any] = {
    "entries": EntryRow,
    "spans": SpanRow,
    "slots": SlotRow,
    "idle": IdleRow,
    "breaks": BreakRow,
    "screenshots": ScreenshotRow,
}


class BundleError(UserError):
    """A review bundle cannot be opened; the message names the reason."""


@dataclass(frozen=True)
class BundleSummary:
    path: Path
    fingerprint: str
    members: int
    spans: int
    screenshots: int
    missing_images: int


# --- writing ----------------------------------------------------------------------


def write_bundle(
    store: Store,
    screenshots_dir: Path,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    now: datetime,
    target: Path,
) -> BundleSummary:
    """Write the review bundle of ``date_from``..``date_to`` (local to ``tz``)."""
    from agent.timeline import read_records

    if date_to < date_from:
        raise UserError("--to is before --from")
    start = day_start(date_from, tz)
    end = day_start(date_to + timedelta(days=1), tz)
    records = read_records(store, start, end, now)

    members: dict[str, bytes] = {RECORDS: _records_json(records, tz).encode()}
    missing = 0
    for shot in records.screenshots:
        if not shot.path:
            continue
        for key in (shot.path, thumbnail_key(shot.path)):
            data = _read_image(screenshots_dir, key)
            if data is None:
                missing += 1
            else:
                members[SCREENSHOTS + key] = data

    manifest = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "created_at": now.isoformat(),
        "punchclock": __version__,
        "tz": tz.key,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "members": {
            name: {"sha256": _sha256(data), "size": len(data)}
            for name, data in sorted(members.items())
        },
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()
    _write_zip(target, manifest_bytes, members)
    log.info("review bundle %s written: %d members", target, len(members))
    return BundleSummary(
        target,
        _sha256(manifest_bytes),
        len(members),
        len(records.spans),
        len(records.screenshots),
        missing,
    )


def _records_json(records: Records, tz: ZoneInfo) -> str:
    body: dict[str, Any] = {
        "tz": tz.key,
        "start_ms": records.start_ms,
        "end_ms": records.end_ms,
        "read_ms": records.read_ms,
    }
    for kind, row_type in _KINDS.items():
        rows: Sequence[tuple[Any, ...]] = getattr(records, kind)
        body[kind] = {
            "columns": list(row_type._fields),
            "rows": [list(r) for r in rows],
        }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _read_image(screenshots_dir: Path, key: str) -> bytes | None:
    path = (screenshots_dir / key).resolve()
    if not path.is_relative_to(screenshots_dir.resolve()):
        log.warning("screenshot path outside the screenshots directory: %r", key)
        return None
    try:
        return path.read_bytes()
    except OSError as error:
        log.warning("screenshot %s left out of the bundle: %s", key, error)
        return None


def _write_zip(target: Path, manifest: bytes, members: dict[str, bytes]) -> None:
    """Write to a private temporary file beside ``target``, then rename it."""
    target = target.absolute()
    if not target.parent.is_dir():
        raise UserError(
            f"there is no folder {target.parent}; create it first or write the "
            "bundle elsewhere with -o"
        )
    fd, temporary = tempfile.mkstemp(prefix=".bundle-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as bundle:
            bundle.writestr(MANIFEST, manifest, zipfile.ZIP_DEFLATED)
            for name, data in members.items():
                # Images are compressed already.
                method = (
                    zipfile.ZIP_STORED
                    if name.startswith(SCREENSHOTS)
                    else (zipfile.ZIP_DEFLATED)
                )
                bundle.writestr(name, data, method)
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- opening ------------------------------------------------------------------------


class BundleSource:
    """A review bundle as a read-only :class:`~agent.timeline.TimelineSource`."""

    read_only = True

    def __init__(
        self,
        path: Path,
        manifest: dict[str, Any],
        fingerprint: str,
        records: Records,
        images: dict[str, bytes],
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.fingerprint = fingerprint
        self._records = records
        self._images = images
        self.worker_zone = _zone(manifest.get("tz"))
        self.first_day = date.fromisoformat(manifest["from"])
        self.last_day = date.fromisoformat(manifest["to"])

    @property
    def title(self) -> str:
        return f"{self.path.name} (fingerprint {self.fingerprint[:16]})"

    @classmethod
    def open(cls, path: Path) -> BundleSource:
        """Open and check ``path``; :class:`BundleError` says what is wrong."""
        try:
            with zipfile.ZipFile(path) as bundle:
                contents = _read_members(bundle)
        except FileNotFoundError as error:
            raise BundleError(f"no review bundle at {path}") from error
        except (zipfile.BadZipFile, OSError) as error:
            raise BundleError(f"{path} is not a review bundle: {error}") from error

        manifest_bytes = contents.pop(MANIFEST, None)
        if manifest_bytes is None:
            raise BundleError(f"{path} has no {MANIFEST}: not a review bundle")
        manifest = _parse_manifest(path, manifest_bytes)
        _check_members(path, manifest["members"], contents)

        records = _parse_records(path, contents.pop(RECORDS))
        images = {
            name[len(SCREENSHOTS) :]: data
            for name, data in contents.items()
            if name.startswith(SCREENSHOTS)
        }
        log.info("review bundle %s opened: %d members checked", path, len(contents) + 1)
        return cls(path, manifest, _sha256(manifest_bytes), records, images)

    def days(self) -> tuple[date, date] | None:
        return self.first_day, self.last_day

    def records(self, start_ms: int, end_ms: int) -> Records:
        return self._records.within(start_ms, end_ms)

    def changes(self) -> int | None:
        """A bundle never changes once opened."""
        return None

    def totals(self, start_ms: int, end_ms: int, *, apps: bool = True) -> Totals:
        within = self._records.within(start_ms, end_ms)
        return totals_of(within, start_ms, end_ms, apps=apps)

    @property
    def all_records(self) -> Records:
        return self._records

    def image(self, key: str) -> bytes | None:
        return self._images.get(key)


def _read_members(bundle: zipfile.ZipFile) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for info in bundle.infolist():
        if info.is_dir():
            continue
        if info.file_size > MAX_MEMBER_BYTES:
            raise BundleError(
                f"member {info.filename} is {info.file_size} bytes, more than a "
                "review bundle holds"
            )
        if info.filename in contents:
            raise BundleError(f"member {info.filename} appears twice")
        contents[info.filename] = bundle.read(info)
    return contents


def _parse_manifest(path: Path, data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise BundleError(f"the manifest of {path} cannot be read: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not a Punchclock review bundle")
    if manifest.get("version") != BUNDLE_VERSION:
        raise BundleError(
            f"{path} is a version {manifest.get('version')} bundle; this Punchclock "
            f"reads version {BUNDLE_VERSION}: update Punchclock"
        )
    members = manifest.get("members")
    if not isinstance(members, dict) or RECORDS not in members:
        raise BundleError(f"the manifest of {path} lists no {RECORDS}")
    for key in ("from", "to"):
        try:
            date.fromisoformat(str(manifest.get(key)))
        except ValueError as error:
            raise BundleError(f"the manifest of {path} has no valid {key!r}") from error
    return manifest


def _check_members(
    path: Path, listed: dict[str, Any], contents: dict[str, bytes]
) -> None:
    """Every listed member present with its hash and size; nothing else."""
    for name in sorted(listed):
        expected = listed[name]
        data = contents.get(name)
        if data is None:
            raise BundleError(f"{path} was changed: member {name} is missing")
        if not isinstance(expected, dict) or _sha256(data) != expected.get("sha256"):
            raise BundleError(
                f"{path} was changed after export: the SHA-256 of {name} does not "
                "match the manifest"
            )
        if len(data) != expected.get("size"):
            raise BundleError(f"{path} was changed: {name} has the wrong size")
    extra = sorted(set(contents) - set(listed))
    if extra:
        raise BundleError(
            f"{path} was changed: {extra[0]} is not in the manifest"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        )


def _parse_records(path: Path, data: bytes) -> Records:
    try:
        body = json.loads(data)
        parts = {
            kind: tuple(
                _row(row_type, body[kind]["columns"], row) for row in body[kind]["rows"]
            )
            for kind, row_type in _KINDS.items()
        }
        return Records(
            int(body["start_ms"]),
            int(body["end_ms"]),
            int(body["read_ms"]),
            **parts,
        )
    except (ValueError, KeyError, TypeError) as error:
        raise BundleError(f"the records of {path} cannot be read: {error!r}") from error


def _row(row_type: Any, columns: list[str], values: list[Any]) -> Any:
    if list(columns) != list(row_type._fields):
        raise ValueError(f"unexpected columns {columns}")
    return row_type._make(values)


def _zone(name: object) -> ZoneInfo:
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise BundleError(f"the bundle's time zone {name!r} is unknown") from error


# --- row exports ---------------------------------------------------------------------

ROW_KINDS = ("slot", "span", "idle", "break", "flag")


def export_rows(records: Records, kind: str, tz: ZoneInfo, fmt: str) -> str:
    """The rows of one kind in ``records`` as CSV or a JSON object."""
    header, rows = _TABLES[kind](records, tz)
    if fmt == "csv":
        return to_csv(header, rows)
    objects = [dict(zip(header, row, strict=True)) for row in rows]
    return json.dumps({"kind": kind, "tz": tz.key, "rows": objects}, ensure_ascii=False)


def _local(moment_ms: int | None, tz: ZoneInfo) -> str | None:
    if moment_ms is None:
        return None
    return datetime.fromtimestamp(moment_ms / 1000, tz).isoformat(timespec="seconds")


Table = tuple[tuple[str, ...], list[tuple[Cell, ...]]]


def _slot_table(records: Records, tz: ZoneInfo) -> Table:
    header = (
        "start",
        "end",
        "entry_id",
        "tracked_seconds",
        "active_seconds",
        "activity_percent",
        "flags",
    )
    rows: list[tuple[Cell, ...]] = []
    for slot in records.slots:
        percent = None
        if slot.active_seconds is not None and slot.tracked_seconds > 0:
            percent = round(100 * slot.active_seconds / slot.tracked_seconds)
        rows.append(
            (
                _local(slot.start_ms, tz),
                _local(slot.end_ms, tz),
                slot.entry_id,
                round(slot.tracked_seconds),
                _rounded(slot.active_seconds),
                percent,
                slot.flag_reasons,
            )
        )
    return header, rows


def _span_table(records: Records, tz: ZoneInfo) -> Table:
    header = ("start", "end", "entry_id", "app", "title", "domain")
    rows: list[tuple[Cell, ...]] = [
        (
            _local(s.start_ms, tz),
            _local(s.end_ms, tz),
            s.entry_id,
            s.app,
            s.title,
            domain_of(s.url),
        )
        for s in records.spans
    ]
    return header, rows


def _idle_table(records: Records, tz: ZoneInfo) -> Table:
    header = ("start", "end", "seconds", "cause", "resolution", "resolved_by", "note")
    rows: list[tuple[Cell, ...]] = []
    for period in records.idle:
        end = period.end_ms or records.read_ms
        rows.append(
            (
                _local(period.start_ms, tz),
                _local(period.end_ms, tz),
                round((end - period.start_ms) / 1000),
                period.cause,
                period.resolution,
                period.resolved_by,
                period.note,
            )
        )
    return header, rows


def _break_table(records: Records, tz: ZoneInfo) -> Table:
    header = ("start", "end", "seconds", "policy", "paid", "origin")
    rows: list[tuple[Cell, ...]] = []
    for pause in records.breaks:
        end = pause.end_ms or records.read_ms
        rows.append(
            (
                _local(pause.start_ms, tz),
                _local(pause.end_ms, tz),
                round((end - pause.start_ms) / 1000),
                pause.policy,
                "paid" if pause.paid else "unpaid",
                pause.origin,
            )
        )
    return header, rows


def _flag_table(records: Records, tz: ZoneInfo) -> Table:
    header = ("start", "end", "entry_id", "reason")
    rows: list[tuple[Cell, ...]] = [
        (_local(slot.start_ms, tz), _local(slot.end_ms, tz), slot.entry_id, reason)
        for slot in records.slots
        if slot.synthetic_flags
        for reason in (slot.flag_reasons or "unusual activity").splitlines()
    ]
    return header, rows


def _rounded(value: float | None) -> int | None:
    return None if value is None else round(value)


_TABLES: dict[str, Callable[[Records, ZoneInfo], Table]] = {
    "slot": _slot_table,
    "span": _span_table,
    "idle": _idle_table,
    "break": _break_table,
    "flag": _flag_table,
}
