"""Benchmark P8: time to first paint of the timeline for a day of 30,000
spans and 144 screenshots (target ≤ 300 ms).

Run: .venv/bin/python tests/bench/bench_timeline.py [--runs 5]

A store under a temporary PUNCHCLOCK_HOME gets a synthetic day
(tests/timeline/synth.py: two entries, 30k spans, a slot every 10 minutes,
144 screenshots with thumbnails). Then:

1. in process (the figure): from constructing the window — reading the day
   from the store, building the model, the widgets — to the end of the
   canvas's first paint; median and worst of ``--runs``, each on a fresh
   store connection;
2. the command: ``punchclock timeline DATE`` as a lead runs it, from the
   handler's start to the first paint (printed by the hidden
   ``--exit-after-paint``), and the process's wall time including Python
   and Qt start-up, for context.

Offscreen Qt unless DISPLAY is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from agent.paths import Paths  # noqa: E402
from agent.store import Store  # noqa: E402
from agent.timeline import StoreSource  # noqa: E402
from tests.timeline.synth import busy_day  # noqa: E402
from ui.timeline import TimelineWindow  # noqa: E402
from ui.timeline_model import TimelineModel  # noqa: E402

TARGET_MS = 300.0
DAY = date(2026, 1, 7)
ZONE = ZoneInfo("Europe/Berlin")


def first_paint_ms(app: QApplication, paths: Paths) -> float:
    store = Store.open(paths.database)
    try:
        source = StoreSource(
            store, paths.screenshots_dir, ZONE, lambda: datetime.now(UTC)
        )
        began = time.perf_counter()
        window = TimelineWindow(TimelineModel(source, DAY))
        painted: list[float] = []
        window.canvas.first_painted.connect(lambda: painted.append(time.perf_counter()))
        window.show()
        while not painted:
            app.processEvents()
        window.close()
        window.deleteLater()
        app.processEvents()
        return (painted[0] - began) * 1000
    finally:
        store.close()


def command(home: Path) -> tuple[float, float]:
    punchclock = str(Path(sys.executable).with_name("punchclock"))
    env = {**os.environ, "PUNCHCLOCK_HOME": str(home), "TZ": "Europe/Berlin"}
    began = time.perf_counter()
    result = subprocess.run(
        [
            punchclock,
            "timeline",
            DAY.isoformat(),
            "--tz",
            ZONE.key,
            "--exit-after-paint",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    wall = (time.perf_counter() - began) * 1000
    line = next(x for x in result.stdout.splitlines() if x.startswith("first paint"))
    return float(line.split()[2]), wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as temporary:
        home = Path(temporary)
        paths = Paths.under(home)
        paths.ensure()
        store = Store.open(paths.database)
        began = time.perf_counter()
        busy_day(store, paths.screenshots_dir, DAY, ZONE)
        store.close()
        print(
            f"synthetic day: 30000 spans, 144 screenshots "
            f"({time.perf_counter() - began:.1f} s to write)"
        )

        app = QApplication.instance() or QApplication([])
        assert isinstance(app, QApplication)
        first_paint_ms(app, paths)  # warm: Qt's lazy initialisation, fonts
        times = [first_paint_ms(app, paths) for _ in range(args.runs)]
        median = statistics.median(times)
        print(
            f"P8 window construction to first paint: median {median:.0f} ms, "
            f"worst {max(times):.0f} ms over {args.runs} runs "
            f"(target ≤ {TARGET_MS:.0f} ms) "
            f"{'PASS' if median <= TARGET_MS else 'FAIL'}"
        )

        handler_ms, wall_ms = command(home)
        print(
            f"punchclock timeline {DAY}: first paint {handler_ms:.0f} ms after "
            f"the command's handler began; {wall_ms:.0f} ms wall time for the "
            "whole process (Python and Qt start-up included)"
        )
    return 0 if median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
