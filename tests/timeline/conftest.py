"""A store under the test's PUNCHCLOCK_HOME and a day with every kind of record."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.paths import Paths
from agent.store import Store
from tests.timeline import synth

BERLIN = ZoneInfo("Europe/Berlin")
# Clocks go forward at 02:00: the local day has 23 hours.
DST_DAY = date(2024, 3, 31)


@pytest.fixture
def dst_day(store: Store, paths: Paths) -> dict[str, int]:
    """DST_DAY in Berlin (23 h), elapsed hours from local midnight:

    - Acme / Design from 22:00 the day before to 01:00 (crosses midnight);
    - Acme / Design 01:00–05:00 with spans (firefox 2 h on two domains,
      code 1 h, then 1 h no span), slots, a flagged slot, an unknown slot;
    - Globex 06:00 to 1 h past the next local midnight (crosses it);
    - idle periods resolved keep, discard, reassign, break, and one open;
    - an unpaid lunch break and a paid short one;
    - three screenshots: an image, one deleted by the worker, one skipped.
    """
    synth.add_project(store, "Acme", ["Design"])
    synth.add_project(store, "Globex")
    start = synth.at(DST_DAY, BERLIN, 0)

    def at(h: float) -> datetime:
        return start + timedelta(hours=h)

    ids = {
        "before": synth.add_entry(store, "Acme", at(-2), at(1), "Design"),
        "design": synth.add_entry(
            store, "Acme", at(1), at(5), "Design", note="mockups"
        ),
        "globex": synth.add_entry(store, "Globex", at(6), at(24)),
    }
    synth.add_spans(
        store,
        ids["design"],
        [
            synth.SpanSpec(at(1), at(2), "firefox", "PR 12", "https://github.com/a/b"),
            synth.SpanSpec(at(2), at(3), "firefox", "Docs", "https://www.python.org/x"),
            synth.SpanSpec(at(3), at(4), "code", "timeline.py", None),
        ],
    )
    synth.add_spans(
        store,
        ids["globex"],
        [synth.SpanSpec(at(6), at(22), "slack", "general", None, flags=0)],
    )
    synth.add_slot(store, ids["design"], at(1), 600.0, 300.0)
    synth.add_slot(
        store,
        ids["design"],
        at(1) + timedelta(minutes=10),
        600.0,
        540.0,
        flags=2,
        reasons="mouse moved at a fixed interval with no other input",
    )
    synth.add_slot(store, ids["design"], at(1) + timedelta(minutes=20), 600.0, None)

    synth.add_idle(store, at(6.5), at(6.75), "keep", note="reading a paper")
    synth.add_idle(store, at(7), at(7.5), "discard", by="policy")
    synth.add_idle(store, at(8), at(8.25), "reassign")
    synth.add_idle(store, at(9), at(9.5), "break")
    synth.add_idle(store, at(10), None, None)
    synth.add_break(store, at(12), at(12.5), "lunch", paid=False)
    synth.add_break(store, at(15), at(15.25), "short", paid=True)

    shots = paths.screenshots_dir
    ids["shot"] = synth.add_screenshot(store, shots, ids["design"], at(1.5))
    ids["deleted"] = synth.add_screenshot(
        store, shots, ids["design"], at(2.5), deleted_by="worker"
    )
    ids["skipped"] = synth.add_screenshot(
        store, shots, ids["globex"], at(7.2), skipped="idle"
    )
    return ids
