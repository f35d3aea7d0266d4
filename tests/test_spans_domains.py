"""A web site known only from a browser's window title reaches the store,
the reports, the timeline and the upload records.

The focus source is the agent's own (its privacy rules and URL resolution);
only the OS part is scripted: the windows it reports. The report is the CLI's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import main
from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.spans import SpanRecorder
from agent.store import Store
from agent.timeline import read_range_totals, read_records
from agent.timer import Timer
from capture.focus import FocusPrivacy, TitleLevel
from capture.focus.common import EmittingFocusSource, FocusedWindow
from sync.outbox import Outbox
from sync.records import load_records
from sync.targets.punchclock import PunchclockTarget
from sync.uploader import Uploader, UploaderConfig
from tests.sync import servers
from tests.sync.conftest import sign_in
from tests.sync.queueing import queue_uploads

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GITHUB = FocusedWindow(1, None, "firefox", "github.com - Mozilla Firefox")
GITLAB = FocusedWindow(
    1, None, "firefox", "Issues · https://gitlab.com/acme/x — Mozilla Firefox"
)
TERMINAL = FocusedWindow(2, None, "xterm", "make test")


class ScriptedFocus(EmittingFocusSource):
    """The agent's focus source with the OS replaced by a script."""

    backend = "scripted"

    def _start_backend(self) -> None:
        pass

    def _stop_backend(self) -> None:
        pass

    def show(self, window: FocusedWindow | None) -> None:
        self._observe(window, self._clock.now(), self._clock.monotonic())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store() -> Iterator[Store]:
    paths = Paths.from_env()
    paths.ensure()
    opened = Store.open(paths.database)
    yield opened
    opened.close()


def _record_a_morning(store: Store, clock: ManualClock, level: TitleLevel) -> None:
    """Acme: github.com 120 s, gitlab.com 45 s, a terminal 60 s, github.com
    30 s; then Globex: github.com 15 s."""
    Projects(store, clock).add("Acme")
    Projects(store, clock).add("Globex")
    timer, recorder = Timer(store, clock), SpanRecorder(store, clock)
    focus = ScriptedFocus(clock, FocusPrivacy(title_level=level))
    focus.start(recorder.on_sample)

    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    for window, seconds in ((GITHUB, 120), (GITLAB, 45), (TERMINAL, 60)):
        focus.show(window)
        clock.advance(seconds)
    focus.show(GITHUB)
    clock.advance(30)
    second = timer.start("Globex")
    recorder.on_entry(second, second.start)
    clock.advance(15)
    timer.stop()
    recorder.on_entry(None, clock.now())
    recorder.flush()
    focus.stop()


def _report(capsys: pytest.CaptureFixture[str], by: str) -> dict[str, int]:
    capsys.readouterr()
    day = START.date().isoformat()
    args = ["report", "--from", day, "--by", by, "--format", "json", "--tz", "UTC"]
    assert main(args) == 0
    shown = json.loads(capsys.readouterr().out)
    return {row["key"]: row["seconds"] for row in shown["rows"]}


@pytest.mark.parametrize("level", [TitleLevel.DOMAIN_ONLY, TitleLevel.FULL])
def test_a_domain_from_the_window_title_is_reported(
    level: TitleLevel,
    store: Store,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _record_a_morning(store, clock, level)

    assert _report(capsys, "domain") == {
        "github.com": 165,
        "(no domain)": 60,
        "gitlab.com": 45,
    }
    assert _report(capsys, "project-domain") == {
        "Acme / github.com": 150,
        "Acme / (no domain)": 60,
        "Acme / gitlab.com": 45,
        "Globex / github.com": 15,
    }


def test_a_domain_only_page_is_stored_once_without_a_url(
    store: Store, clock: ManualClock
) -> None:
    _record_a_morning(store, clock, TitleLevel.DOMAIN_ONLY)

    with sqlite3.connect(store.path) as conn:
        pages = conn.execute("SELECT url, domain FROM urls ORDER BY id").fetchall()
        browser_spans = conn.execute(
            "SELECT count(*) FROM spans WHERE url_id IS NOT NULL"
        ).fetchone()[0]
    # The title level keeps only the origin of a URL, and a bare host as it is.
    assert pages == [(None, "github.com"), ("https://gitlab.com", "gitlab.com")]
    assert browser_spans == 4


def test_the_timeline_and_the_upload_records_carry_the_domain(
    store: Store, clock: ManualClock
) -> None:
    _record_a_morning(store, clock, TitleLevel.DOMAIN_ONLY)
    start, end = START, START + timedelta(days=1)

    totals = read_range_totals(store, start, end, clock.now())
    lanes = read_records(store, start, end, clock.now())
    with store.read() as session:
        ids = _span_ids(store)
        records = load_records(session, "span", ids)

    assert {t.key: t.seconds for t in totals.domains} == {
        "github.com": 165,
        "(no domain)": 60,
        "gitlab.com": 45,
    }
    assert [span.url for span in lanes.spans] == [
        "github.com",
        "https://gitlab.com",
        None,
        "github.com",
        "github.com",
    ]
    pages = sorted(
        (record["url"] or "", record["domain"] or "") for record in records.values()
    )
    assert pages == [
        ("", ""),
        ("", "github.com"),
        ("", "github.com"),
        ("", "github.com"),
        ("https://gitlab.com", "gitlab.com"),
    ]


def _span_ids(store: Store) -> list[int]:
    with sqlite3.connect(store.path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM spans")]


def test_the_reference_servers_timeline_counts_the_domain(
    store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    queue_uploads(store, clock.now())  # signed in: records queue as written
    _record_a_morning(store, clock, TitleLevel.DOMAIN_ONLY)

    database = f"sqlite:///{tmp_path / 'server.db'}"
    with servers.reference_server(database, tmp_path / "files") as server:
        target = PunchclockTarget(server.url, sign_in(server.url, store))
        config = UploaderConfig(screenshots_dir=tmp_path / "shots")
        uploader = Uploader(Outbox(store), target, clock, config, rand=lambda: 0.5)
        sent = uploader.run()
        with server.lead() as lead:
            [agent] = lead.get("/v1/lead/agents").json()["agents"]
            day = lead.get(
                f"/v1/lead/agents/{agent['agent_id']}/timeline",
                params={"day": START.date().isoformat(), "tz": "UTC"},
            ).json()

    assert (sent.error, sent.rejected, sent.stored) == (None, 0, 2 + 2 + 5)
    domains = {row["key"]: row["seconds"] for row in day["totals"]["domains"]}
    assert domains == {"github.com": 165, "(no domain)": 60, "gitlab.com": 45}
