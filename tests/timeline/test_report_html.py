"""``punchclock report --format html``: the printable day report of the
synthetic DST day — its tables against the model, its timeline picture, and
how Chromium renders and prints it (kept in the artefacts)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from agent.cli import main
from agent.paths import Paths
from agent.store import Store
from agent.timeline import StoreSource, duration_text, load_day
from tests.timeline import browser, synth
from tests.timeline.conftest import BERLIN, DST_DAY

DAY = ["--from", DST_DAY.isoformat(), "--tz", BERLIN.key]
GROUPS = ("projects", "tasks", "apps", "domains")


def _report(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["report", "--format", "html", *DAY, *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _report_range(capsys: pytest.CaptureFixture[str], first: str, last: str) -> str:
    argv = ["report", "--format", "html", "--from", first, "--to", last]
    code = main([*argv, "--tz", BERLIN.key])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _table_rows(html: str, name: str) -> list[list[str]]:
    [body] = re.findall(rf"<table id='{name}'>.*?<tbody>(.*?)</tbody>", html)
    return [
        [
            re.sub(r"<[^>]+>", "", cell)
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def test_the_day_report_has_the_models_totals_and_the_days_records(
    capsys: pytest.CaptureFixture[str],
    store: Store,
    paths: Paths,
    dst_day: dict[str, int],
) -> None:
    source = StoreSource(
        store, paths.screenshots_dir, BERLIN, lambda: datetime.now(UTC)
    )
    model = load_day(source, DST_DAY, BERLIN)

    html = _report(capsys)

    page = browser.TotalsPage()
    page.feed(html)
    for group in GROUPS:
        assert [tuple(row) for row in page.tables[group]] == [
            (row.key, duration_text(row.seconds), f"{row.share:.1%}")
            for row in model.totals.by(group)
        ], group
    assert page.summary == "Tracked 22:00 · breaks 0:45 · idle 14:30 · 3 screenshots"
    assert "Sunday 31 March 2024 (23 h, Europe/Berlin)" in html

    # The picture: every lane, the hour after 01:00 is 03:00, one thumbnail
    # embedded (the deleted and the skipped screenshot have none).
    svg = html[html.index("<svg") : html.index("</svg>")]
    for title in ("Entries", "Apps", "Titles", "Domains", "Activity", "Idle"):
        assert f">{title}</text>" in svg
    hours = re.findall(r"class='hour'[^>]*>(\d\d:\d\d)<", svg)
    assert hours[:3] == ["00:00", "01:00", "03:00"]
    assert svg.count("href='data:image/jpeg;base64,") == 1
    assert "url(#unknown)" in svg  # the slot without an input source

    activity = _table_rows(html, "activity")
    assert [row[1] for row in activity] == ["50%", "90%", "?"]
    idle = _table_rows(html, "idle")
    assert [row[2] for row in idle] == [
        "keep",
        "discard",
        "reassign",
        "break",
        "unresolved",
    ]
    assert "reading a paper" in idle[0][3]
    # Elapsed hours 12 and 15 of a day whose clocks went forward at 02:00.
    assert _table_rows(html, "breaks") == [
        ["13:00–13:30", "0:30", "lunch", "unpaid"],
        ["16:00–16:15", "0:15", "short", "paid"],
    ]
    [flag] = _table_rows(html, "flags")
    assert "fixed interval" in flag[1]
    # Self-contained: nothing is fetched when it is opened or printed.
    assert "<script" not in html
    assert not re.search(r"(src|href)='(https?:|/)", html)


def test_recorded_text_is_escaped(
    capsys: pytest.CaptureFixture[str], store: Store
) -> None:
    hostile = "<script>alert('x')</script>"
    synth.add_project(store, "A&B <i>")
    entry = synth.add_entry(
        store,
        "A&B <i>",
        synth.at(DST_DAY, BERLIN, 9),
        synth.at(DST_DAY, BERLIN, 10),
        note=hostile,
    )
    start, end = synth.at(DST_DAY, BERLIN, 9), synth.at(DST_DAY, BERLIN, 10)
    synth.add_spans(store, entry, [synth.SpanSpec(start, end, "evil", hostile)])

    html = _report(capsys)

    assert hostile not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "A&amp;B &lt;i&gt;" in html
    assert "<i>" not in html


def test_a_range_opens_with_its_totals_and_a_line_per_day(
    capsys: pytest.CaptureFixture[str], store: Store, dst_day: dict[str, int]
) -> None:
    html = _report(capsys, "--to", "2024-04-01")

    assert "Report 2024-03-31 to 2024-04-01" in html
    days = re.findall(r"<section class='day' data-day='([\d-]+)'>", html)
    assert days == ["2024-03-31", "2024-04-01"]
    summary = html[html.index("<section class='range'") : html.index("</section>")]
    # Globex's hour past midnight joins the range: 23 h tracked.
    assert "Tracked 23:00" in summary
    assert _table_rows(summary, "totals-projects") == [
        ["Globex", "18:00", "78.3%"],
        ["Acme", "5:00", "21.7%"],
    ]
    assert [row[:3] for row in _table_rows(summary, "days")] == [
        ["Sun 31 Mar 2024", "22:00", "95.7%"],
        ["Mon 01 Apr 2024", "1:00", "4.3%"],
    ]


def test_a_month_gets_its_totals_and_days_without_pictures(
    capsys: pytest.CaptureFixture[str], store: Store
) -> None:
    synth.busy_month(store, date(2026, 1, 1), 31, BERLIN, spans=6200)

    html = _report_range(capsys, "2026-01-01", "2026-01-31")

    assert "<section class='day'" not in html
    assert "<svg" not in html
    assert "up to 7 days" in html
    assert "Tracked 279:00" in html
    days = _table_rows(html, "days")
    assert len(days) == 31
    assert {row[1] for row in days} == {"9:00"}
    assert {row[5] for row in days} == {"Globex"}


@pytest.mark.slow
@pytest.mark.skipif(
    browser.chromium() is None, reason="chromium is not installed (CI installs it)"
)
def test_chromium_renders_and_prints_the_day_report(
    capsys: pytest.CaptureFixture[str],
    dst_day: dict[str, int],
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    report = tmp_path / "day-report.html"
    report.write_text(_report(capsys), encoding="utf-8")
    url = report.as_uri()

    page = browser.TotalsPage()
    page.feed(browser.dump_dom(url))
    assert page.tables["projects"] == [
        ["Globex", "17:00", "77.3%"],
        ["Acme", "5:00", "22.7%"],
    ]

    picture = artifacts_dir / "timeline-day-report.png"
    printed = artifacts_dir / "timeline-day-report.pdf"
    for target in (picture, printed):
        target.unlink(missing_ok=True)
    browser.screenshot(url, picture, (1100, 1300))
    browser.print_to_pdf(url, printed)

    assert picture.read_bytes().startswith(b"\x89PNG")
    assert picture.stat().st_size > 20_000
    pdf = printed.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 1
