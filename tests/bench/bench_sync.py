"""P7 and P10: sync throughput on loopback.

    .venv/bin/python -m tests.bench.bench_sync [--records N] [--screenshots N]

Prints three figures and compares them with the targets:

1. the time to drain N records (default 100,000) and M screenshots of
   100 KB (default 1,000) from an agent's store into the reference server
   (SQLite, loopback) with the real uploader — target ≤ 30 s;
2. records per second into a real aw-server 0.12.0 — target ≥ 2,000/s
   (ActivityWatch's own client sends about 99 heartbeats/s);
3. the reference server's ingest rate on PostgreSQL from 50 simulated
   agents, each sending 500-record batches — target ≥ 20,000 records/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from agent.clock import SystemClock
from agent.store import Store
from sync.outbox import Outbox
from sync.service import NameLookup
from sync.targets.activitywatch import ActivityWatchTarget
from sync.targets.punchclock import PunchclockTarget, register
from sync.uploader import Uploader, UploaderConfig
from tests.sync import servers
from tests.sync.day import write_day
from tests.sync.queueing import queue_uploads


def drain_reference(work: Path, records: int, screenshots: int) -> float:
    store = Store.open(work / "agent" / "punchclock.db")
    queue_uploads(store)
    write_day(
        store,
        spans=records,
        screenshots=screenshots,
        screenshots_dir=work / "shots",
        screenshot_bytes=100 * 1024,
    )
    waiting = Outbox(store).counts(SystemClock().now()).waiting
    url = f"sqlite:///{work / 'server.db'}"
    with servers.reference_server(url, work / "server-files") as server:
        token = register(
            server.url, servers.ENROLLMENT_KEY, store.store_id, "bench", "0"
        )["token"]
        target = PunchclockTarget(server.url, token)
        uploader = Uploader(
            Outbox(store),
            target,
            SystemClock(),
            UploaderConfig(batch_count=2000, batch_bytes=4 * 1024 * 1024),
        )
        started = time.perf_counter()
        report = uploader.run()
        elapsed = time.perf_counter() - started
        target.close()
    store.close()
    if report.error or report.stored + report.screenshots != waiting:
        raise SystemExit(f"drain incomplete: {report}")
    print(
        f"P7a drain {report.stored} records + {report.screenshots} screenshots "
        f"(100 KB) into the reference server: {elapsed:.1f} s "
        f"(target <= 30 s) {'PASS' if elapsed <= 30 else 'FAIL'}"
    )
    return elapsed


def into_activitywatch(work: Path, records: int) -> float | None:
    if servers.aw_python() is None:
        print("P7b aw-server not installed (.ci/run installs it); skipped")
        return None
    store = Store.open(work / "aw-agent" / "punchclock.db")
    queue_uploads(store)
    write_day(store, spans=records)
    sent = Outbox(store).counts(SystemClock().now()).waiting
    with servers.aw_server(work / "aw") as url:
        target = ActivityWatchTarget(url, names=NameLookup(store), hostname="bench")
        uploader = Uploader(
            Outbox(store), target, SystemClock(), UploaderConfig(batch_count=1000)
        )
        started = time.perf_counter()
        report = uploader.run()
        elapsed = time.perf_counter() - started
        target.close()
    store.close()
    if report.error:
        raise SystemExit(f"aw upload failed: {report.error}")
    rate = sent / elapsed
    print(
        f"P7b {sent} records into aw-server 0.12.0: {rate:,.0f} records/s "
        f"(target >= 2,000/s; ActivityWatch's client ~99 heartbeats/s) "
        f"{'PASS' if rate >= 2000 else 'FAIL'}"
    )
    return rate


def postgres_ingest(work: Path, agents: int, batches: int) -> float | None:
    base = servers.pg_base_url()
    reason = servers.postgres_available(base)
    if reason is not None:
        print(f"P10 skipped: {reason}")
        return None
    with servers.postgres_database(base) as url:
        port = servers.free_port()
        env = {
            **os.environ,
            "PUNCHCLOCK_SERVER_ENROLLMENT_KEY": servers.ENROLLMENT_KEY,
            "PUNCHCLOCK_SERVER_LEAD_TOKEN": servers.LEAD_TOKEN,
        }
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "sync.server", "--database-url", url),
                *("--port", str(port), "--workers", "2", "--files", str(work / "f")),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            servers.wait_until(lambda: _up(base_url + "/v1/health"))
            rate = _load(base_url, agents, batches)
        finally:
            process.terminate()
            process.wait(timeout=20)
    print(
        f"P10 reference server on PostgreSQL, {agents} agents x {batches} batches "
        f"of 500: {rate:,.0f} records/s (target >= 20,000/s) "
        f"{'PASS' if rate >= 20000 else 'FAIL'}"
    )
    return rate


def _load(url: str, agents: int, batches: int) -> float:
    bodies = []
    tokens = []
    for n in range(agents):
        tokens.append(
            register(url, servers.ENROLLMENT_KEY, f"store-{n}", f"pc{n}", "0")["token"]
        )
        agent_batches = []
        for b in range(batches):
            records = [_span(n, b, i) for i in range(500)]
            agent_batches.append(json.dumps({"records": records}).encode())
        bodies.append(agent_batches)

    barrier = threading.Barrier(agents + 1)
    failures: list[str] = []

    def agent(index: int) -> None:
        headers = {
            "Authorization": f"Bearer {tokens[index]}",
            "Content-Type": "application/json",
        }
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            barrier.wait()
            for body in bodies[index]:
                answer = client.post("/v1/batches", content=body)
                if answer.status_code != 200:
                    failures.append(answer.text[:200])

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(agents)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"ingest failures: {failures[:3]}")
    return agents * batches * 500 / elapsed


def _span(agent: int, batch: int, index: int) -> dict[str, object]:
    record_id = (agent << 40) | (batch << 20) | index + 1
    start = 1_714_986_000_000 + index * 5000
    return {
        "kind": "span",
        "id": str(record_id),
        "data": {
            "entry_id": "1",
            "start_ms": start,
            "end_ms": start + 5000,
            "app": "code",
            "title": f"file{index % 50}.py — punchclock",
            "url": None,
            "domain": None,
            "flags": 0,
        },
    }


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--screenshots", type=int, default=1_000)
    parser.add_argument("--aw-records", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument(
        "--only",
        choices=["p7a", "p7b", "p10"],
        action="append",
        help="run only these figures (repeatable); all by default",
    )
    args = parser.parse_args()
    only = set(args.only or ["p7a", "p7b", "p10"])

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as temp:
        work = Path(temp)
        if "p7a" in only:
            drain_reference(work, args.records, args.screenshots)
        if "p7b" in only:
            into_activitywatch(work, args.aw_records)
        if "p10" in only:
            postgres_ingest(work, args.agents, args.batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
