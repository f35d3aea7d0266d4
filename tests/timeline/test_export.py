"""Review bundles round-trip and refuse tampering; CLI timeline and export."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.export import MANIFEST, RECORDS, BundleError, BundleSource
from agent.paths import Paths
from agent.store import Store
from agent.timeline import StoreSource, load_day
from tests.timeline.conftest import BERLIN, DST_DAY

RANGE = ["--from", "2024-03-30", "--to", "2024-04-01", "--tz", "Europe/Berlin"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _bundle(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    target = tmp_path / "review.zip"
    code, out, err = _run(capsys, "export", "--bundle", *RANGE, "-o", str(target))
    assert code == 0, err
    assert "Fingerprint" in out
    return target


def _rewrite(source: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """Copy a bundle, replacing (or with None dropping) some members."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            if name in change:
                if change[name] is not None:
                    new.writestr(name, change[name])  # type: ignore[arg-type]
            else:
                new.writestr(name, old.read(name))
        for name, data in change.items():
            if name not in old.namelist() and data is not None:
                new.writestr(name, data)


@pytest.mark.posix
def test_bundle_round_trip_shows_the_same_day(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: Store,
    paths: Paths,
    dst_day: dict[str, int],
) -> None:
    target = _bundle(capsys, tmp_path)
    bundle = BundleSource.open(target)
    local = StoreSource(store, paths.screenshots_dir, BERLIN, lambda: _read_at(bundle))

    from_bundle = load_day(bundle, DST_DAY, BERLIN)
    from_store = load_day(local, DST_DAY, BERLIN)

    assert from_bundle == from_store
    assert bundle.read_only
    assert bundle.days() == (
        DST_DAY.replace(day=30),
        DST_DAY.replace(month=4, day=1),
    )
    [shot] = [m for m in from_bundle.screenshots if m.image]
    assert bundle.image(shot.image) == local.image(shot.image)
    assert bundle.image(shot.thumbnail)
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def _read_at(bundle: BundleSource) -> Any:
    from agent.store.models import from_millis

    return from_millis(bundle.all_records.read_ms)


def test_a_changed_screenshot_is_refused_by_its_hash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst_day: dict[str, int]
) -> None:
    target = _bundle(capsys, tmp_path)
    with zipfile.ZipFile(target) as bundle:
        image = next(n for n in bundle.namelist() if n.endswith(".jpg"))
    tampered = tmp_path / "tampered.zip"
    _rewrite(target, tampered, {image: b"not the screenshot"})

    with pytest.raises(BundleError, match=f"SHA-256 of {image} does not match"):
        BundleSource.open(tampered)
    code, _, err = _run(capsys, "timeline", "--bundle", str(tampered), "--json")
    assert code == 2
    assert "was changed after export" in err


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({RECORDS: b'{"entries": []}'}, "SHA-256 of records.json"),
        ({RECORDS: None}, "member records.json is missing"),
        ({"extra.txt": b"hello"}, "extra.txt is not in the manifest"),
        ({MANIFEST: None}, "has no manifest.json"),
        ({MANIFEST: b"{}"}, "not a Punchclock review bundle"),
    ],
)
def test_other_tampering_is_refused_with_the_reason(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    dst_day: dict[str, int],
    change: dict[str, bytes | None],
    reason: str,
) -> None:
    target = _bundle(capsys, tmp_path)
    tampered = tmp_path / "tampered.zip"
    _rewrite(target, tampered, change)

    with pytest.raises(BundleError, match=reason):
        BundleSource.open(tampered)


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_text("hello")
    with pytest.raises(BundleError, match="is not a review bundle"):
        BundleSource.open(junk)
    with pytest.raises(BundleError, match="no review bundle at"):
        BundleSource.open(tmp_path / "absent.zip")


def test_timeline_json_from_the_store_and_from_a_bundle_agree(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, dst_day: dict[str, int]
) -> None:
    target = _bundle(capsys, tmp_path)
    code, out, err = _run(
        capsys, "timeline", "2024-03-31", "--tz", "Europe/Berlin", "--json"
    )
    assert code == 0, err
    local = json.loads(out)
    code, out, err = _run(
        capsys, "timeline", "2024-03-31", "--bundle", str(target), "--json"
    )
    assert code == 0, err
    bundled = json.loads(out)

    assert local["hours"] == 23
    assert local["tracked_seconds"] == 22 * 3600
    assert local["totals"]["projects"][0] == {
        "key": "Globex",
        "seconds": 17 * 3600,
        "share": round(17 / 22, 4),
    }
    # The idle period still open ends where each was read: compare the rest.
    for key in ("day", "tz", "tracked_seconds", "totals", "lanes", "screenshots"):
        assert bundled[key] == local[key], key


def test_export_rows_csv_is_spreadsheet_safe(
    capsys: pytest.CaptureFixture[str], store: Store, dst_day: dict[str, int]
) -> None:
    from datetime import timedelta

    from tests.timeline import synth

    start = synth.at(DST_DAY, BERLIN, 20)
    entry = synth.add_entry(store, "Globex", start, start + timedelta(minutes=5))
    synth.add_spans(
        store,
        entry,
        [synth.SpanSpec(start, start + timedelta(minutes=5), "=cmd", "=HYPERLINK(1)")],
    )
    code, out, err = _run(capsys, "export", "--format", "csv", "--by", "span", *RANGE)

    assert code == 0, err
    assert out.splitlines()[0] == "start,end,entry_id,app,title,domain"
    assert "'=cmd,'=HYPERLINK(1)" in out
    assert "firefox,PR 12,github.com" in out


@pytest.mark.parametrize(
    ("by", "check"),
    [
        ("slot", lambda rows: [r["activity_percent"] for r in rows] == [50, 90, None]),
        (
            "idle",
            lambda rows: (
                [r["resolution"] for r in rows][:4]
                == ["keep", "discard", "reassign", "break"]
            ),
        ),
        (
            "break",
            lambda rows: (
                [(r["policy"], r["paid"]) for r in rows]
                == [("lunch", "unpaid"), ("short", "paid")]
            ),
        ),
        ("flag", lambda rows: len(rows) == 1 and "fixed interval" in rows[0]["reason"]),
        ("project", None),
    ],
)
def test_export_json(
    capsys: pytest.CaptureFixture[str],
    dst_day: dict[str, int],
    by: str,
    check: Any,
) -> None:
    code, out, err = _run(capsys, "export", "--format", "json", "--by", by, *RANGE)
    assert code == 0, err
    body = json.loads(out)
    if check is None:
        # Report groupings print the report's own JSON object.
        assert body["by"] == "project"
        assert {row["key"] for row in body["rows"]} == {"Acme", "Globex"}
    else:
        assert body["kind"] == by
        assert check(body["rows"])


def test_export_needs_bundle_or_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--from", "2024-03-31"])
    assert exit_info.value.code == 2
    assert "--bundle --format is required" in capsys.readouterr().err


def test_export_refuses_a_reversed_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(
        capsys, "export", "--bundle", "--from", "2024-04-02", "--to", "2024-04-01"
    )
    assert code == 2
    assert "--to is before --from" in err
