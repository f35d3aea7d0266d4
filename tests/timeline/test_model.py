"""The timeline model of a synthetic day: lanes and totals, without pixels."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.report import NO_APP, NO_DOMAIN
from agent.reporting import collect_report
from agent.store import Store
from agent.store.models import from_millis, to_millis
from agent.timeline import (
    DayTimeline,
    LaneKind,
    Records,
    build_timeline,
    day_bounds_ms,
    read_range_totals,
    read_records,
)
from tests.timeline import synth
from tests.timeline.conftest import BERLIN, DST_DAY

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
H = 3_600_000


def _day(store: Store, day: date = DST_DAY, tz: ZoneInfo = BERLIN) -> DayTimeline:
    start, end = day_bounds_ms(day, tz)
    records = read_records(store, from_millis(start), from_millis(end), NOW)
    return build_timeline(records, day, tz)


def _hours(timeline: DayTimeline, kind: LaneKind) -> list[tuple[float, float]]:
    return [
        ((bar.start_ms - timeline.start_ms) / H, (bar.end_ms - timeline.start_ms) / H)
        for bar in timeline.lane(kind).bars
    ]


def _totals(rows: tuple[object, ...]) -> dict[str, float]:
    return {row.key: row.seconds / 3600 for row in rows}  # type: ignore[attr-defined]


def test_the_dst_day_has_23_hours_and_entries_are_cut_at_both_midnights(
    store: Store, dst_day: dict[str, int]
) -> None:
    timeline = _day(store)

    assert timeline.hours == 23
    assert _hours(timeline, LaneKind.ENTRIES) == [(0, 1), (1, 5), (6, 23)]
    labels = [bar.label for bar in timeline.lane(LaneKind.ENTRIES).bars]
    assert labels == ["Acme / Design", "Acme / Design", "Globex"]
    assert "note: mockups" in timeline.lane(LaneKind.ENTRIES).bars[1].detail
    # Hour labels follow the zone: 01:00 is followed by 03:00.
    assert timeline.local(timeline.start_ms + 2 * H).strftime("%H:%M") == "03:00"


def test_totals_per_project_task_app_and_domain_with_shares(
    store: Store, dst_day: dict[str, int]
) -> None:
    totals = _day(store).totals

    assert totals.tracked_seconds == 22 * 3600
    assert _totals(totals.projects) == {"Globex": 17, "Acme": 5}
    assert _totals(totals.tasks) == {"Globex / (no task)": 17, "Acme / Design": 5}
    assert _totals(totals.apps) == {"slack": 16, NO_APP: 3, "firefox": 2, "code": 1}
    assert _totals(totals.domains) == {NO_DOMAIN: 20, "github.com": 1, "python.org": 1}
    for group in ("projects", "tasks", "apps", "domains"):
        assert sum(row.share for row in totals.by(group)) == pytest.approx(1.0)
    assert totals.projects[0].share == pytest.approx(17 / 22)
    assert totals.break_seconds == 0.75 * 3600
    # Four resolved periods (1.5 h) and one still open, cut at the day's end.
    assert totals.idle_seconds == (1.5 + 13) * 3600


def test_totals_match_the_report_builder(store: Store, dst_day: dict[str, int]) -> None:
    totals = _day(store).totals

    for by, rows in (("project", totals.projects), ("app", totals.apps)):
        report = collect_report(store, by, BERLIN, DST_DAY, DST_DAY, NOW)
        assert report.total_seconds == totals.tracked_seconds
        assert {row.key: row.seconds for row in report.rows} == {
            row.key: row.seconds for row in rows
        }


def test_apps_titles_and_domains_lanes(store: Store, dst_day: dict[str, int]) -> None:
    timeline = _day(store)

    apps = timeline.lane(LaneKind.APPS).bars
    assert [
        (bar.label, *span)
        for bar, span in zip(apps, _hours(timeline, LaneKind.APPS), strict=True)
    ] == [("firefox", 1, 3), ("code", 3, 4), ("slack", 6, 22)]
    titles = [bar.label for bar in timeline.lane(LaneKind.TITLES).bars]
    assert titles == ["PR 12", "Docs", "timeline.py", "general"]
    assert "https://github.com/a/b" in timeline.lane(LaneKind.TITLES).bars[0].detail
    domains = [bar.label for bar in timeline.lane(LaneKind.DOMAINS).bars]
    assert domains == ["github.com", "python.org"]


def test_activity_flags_and_unknown_activity(
    store: Store, dst_day: dict[str, int]
) -> None:
    timeline = _day(store)

    activity = timeline.lane(LaneKind.ACTIVITY).bars
    assert [bar.value for bar in activity] == [50.0, 90.0, None]
    assert [bar.key for bar in activity] == ["activity", "flagged", "activity"]
    assert activity[2].label == "?"
    [flag] = timeline.lane(LaneKind.FLAGS).bars
    assert "fixed interval" in flag.detail
    assert flag.start_ms == activity[1].start_ms


def test_idle_periods_with_their_resolution_and_breaks(
    store: Store, dst_day: dict[str, int]
) -> None:
    timeline = _day(store)

    idle = timeline.lane(LaneKind.IDLE).bars
    assert [bar.key for bar in idle] == [
        "keep",
        "discard",
        "reassign",
        "break",
        "unresolved",
    ]
    assert "reading a paper" in idle[0].detail
    assert "resolved by the policy" in idle[1].detail
    assert _hours(timeline, LaneKind.IDLE)[-1] == (10, 23)
    breaks = timeline.lane(LaneKind.BREAKS).bars
    assert [(bar.label, bar.key) for bar in breaks] == [
        ("lunch", "unpaid"),
        ("short", "paid"),
    ]


def test_screenshots_at_their_moments(store: Store, dst_day: dict[str, int]) -> None:
    timeline = _day(store)

    marks = timeline.screenshots
    assert [mark.state for mark in marks] == ["image", "deleted", "skipped"]
    assert [(m.moment_ms - timeline.start_ms) / H for m in marks] == [1.5, 2.5, 7.2]
    assert marks[0].image.endswith(".jpg")
    assert marks[0].thumbnail.endswith(".thumb.jpg")
    assert marks[1].image == marks[2].image == ""
    assert "deleted by the worker" in marks[1].detail
    assert "idle" in marks[2].detail


def test_hovering_finds_the_bar_under_a_moment(
    store: Store, dst_day: dict[str, int]
) -> None:
    timeline = _day(store)

    apps = timeline.lane(LaneKind.APPS)
    assert apps.at(timeline.start_ms + int(3.5 * H)).label == "code"  # type: ignore[union-attr]
    assert apps.at(timeline.start_ms + int(4.5 * H)) is None
    idle = timeline.lane(LaneKind.IDLE)
    assert idle.at(timeline.start_ms + 12 * H).key == "unresolved"  # type: ignore[union-attr]


def test_the_zone_choice_moves_the_day(store: Store, dst_day: dict[str, int]) -> None:
    in_utc = _day(store, DST_DAY, ZoneInfo("UTC"))

    assert in_utc.hours == 24
    # Berlin is UTC+1 before the change: the UTC day starts an hour later.
    berlin = _day(store)
    assert in_utc.start_ms - berlin.start_ms == H
    # So the entry before 01:00 Berlin falls on the previous UTC day, and
    # Globex's hour after Berlin's midnight on this one.
    assert _totals(in_utc.totals.projects) == {"Globex": 18, "Acme": 4}


def test_the_day_after_a_fall_back_change_has_25_hours(store: Store) -> None:
    timeline = _day(store, date(2024, 10, 27))

    assert timeline.hours == 25
    assert timeline.totals.tracked_seconds == 0
    assert all(not lane.bars for lane in timeline.lanes)


def test_one_day_of_a_longer_read_equals_reading_that_day(
    store: Store, dst_day: dict[str, int]
) -> None:
    start, _ = day_bounds_ms(DST_DAY - timedelta(days=1), BERLIN)
    _, end = day_bounds_ms(DST_DAY + timedelta(days=1), BERLIN)
    three_days = read_records(store, from_millis(start), from_millis(end), NOW)
    day_start, day_end = day_bounds_ms(DST_DAY, BERLIN)

    from_three = build_timeline(three_days.within(day_start, day_end), DST_DAY, BERLIN)

    assert from_three == _day(store)
    assert isinstance(three_days, Records)
    before = build_timeline(three_days, DST_DAY - timedelta(days=1), BERLIN)
    assert _totals(before.totals.projects) == {"Acme": 2}


def _hours_of(timeline: DayTimeline, moments: tuple[int, int]) -> tuple[float, float]:
    return tuple((m - timeline.start_ms) / H for m in moments)  # type: ignore[return-value]


def test_a_past_day_opens_on_its_recorded_hours(store: Store) -> None:
    day = date(2024, 5, 7)
    synth.add_project(store, "Acme")
    synth.add_entry(
        store, "Acme", synth.at(day, BERLIN, 9 + 1 / 6), synth.at(day, BERLIN, 11.3)
    )

    timeline = _day(store, day)

    assert not timeline.is_today
    assert _hours_of(timeline, timeline.focus_range()) == (9, 12)
    # A day with nothing recorded shows the whole day.
    empty = _day(store, day + timedelta(days=1))
    assert empty.focus_range() == (empty.start_ms, empty.end_ms)


def test_today_opens_around_now(store: Store) -> None:
    day = NOW.astimezone(BERLIN).date()
    start, end = day_bounds_ms(day, BERLIN)
    now_hours = (to_millis(NOW) - start) / H  # 13:00 in Berlin

    empty = build_timeline(
        read_records(store, from_millis(start), from_millis(end), NOW), day, BERLIN
    )
    assert empty.is_today
    # Nothing yet: from two hours before now to the hour after now + 30 min.
    assert _hours_of(empty, empty.focus_range()) == (now_hours - 2, now_hours + 1)

    synth.add_project(store, "Acme")
    synth.add_entry(store, "Acme", synth.at(day, BERLIN, 8.5), None)
    running = build_timeline(
        read_records(store, from_millis(start), from_millis(end), NOW), day, BERLIN
    )
    assert _hours_of(running, running.focus_range()) == (8, now_hours + 1)


def test_range_totals_of_one_day_equal_the_days_timeline(
    store: Store, dst_day: dict[str, int]
) -> None:
    start, end = day_bounds_ms(DST_DAY, BERLIN)

    totals = read_range_totals(store, from_millis(start), from_millis(end), NOW)

    assert totals == _day(store).totals


def test_range_totals_of_several_days_add_up_like_the_report(store: Store) -> None:
    first = date(2024, 5, 6)
    synth.busy_month(store, first, 3, BERLIN, spans=3000)
    # Private spans without an app, and spans that overlap (counted once).
    extra = synth.add_entry(
        store, "Acme", synth.at(first, BERLIN, 19), synth.at(first, BERLIN, 21)
    )
    synth.add_spans(
        store,
        extra,
        [
            synth.SpanSpec(
                synth.at(first, BERLIN, 19), synth.at(first, BERLIN, 20), None, flags=1
            ),
            synth.SpanSpec(
                synth.at(first, BERLIN, 19.5), synth.at(first, BERLIN, 21), "code"
            ),
            synth.SpanSpec(
                synth.at(first, BERLIN, 20), synth.at(first, BERLIN, 20.5), "code"
            ),
        ],
    )
    last = first + timedelta(days=2)
    start, _ = day_bounds_ms(first, BERLIN)
    _, end = day_bounds_ms(last, BERLIN)

    totals = read_range_totals(store, from_millis(start), from_millis(end), NOW)

    days = [_day(store, first + timedelta(days=n)) for n in range(3)]
    for group in ("projects", "tasks", "apps", "domains"):
        summed: dict[str, float] = {}
        for day in days:
            for row in day.totals.by(group):
                summed[row.key] = summed.get(row.key, 0) + row.seconds
        assert {row.key: row.seconds for row in totals.by(group)} == pytest.approx(
            summed
        ), group
    apps = {row.key: row.seconds for row in totals.apps}
    assert apps["(private)"] == 3600  # 19-20; code 20-21, its overlap once
    assert apps["code"] >= 3600
    for by, rows in (("project", totals.projects), ("domain", totals.domains)):
        report = collect_report(store, by, BERLIN, first, last, NOW)
        assert report.total_seconds == totals.tracked_seconds
        assert {row.key: row.seconds for row in report.rows} == pytest.approx(
            {row.key: row.seconds for row in rows}
        )


def test_range_totals_without_apps_read_no_span(
    store: Store, dst_day: dict[str, int]
) -> None:
    start, end = day_bounds_ms(DST_DAY, BERLIN)
    bounds = (from_millis(start), from_millis(end))

    full = read_range_totals(store, *bounds, NOW)
    entries_only = read_range_totals(store, *bounds, NOW, apps=False)

    assert entries_only.apps == entries_only.domains == ()
    assert entries_only.projects == full.projects
    assert entries_only.tasks == full.tasks
    assert entries_only.idle_seconds == full.idle_seconds
