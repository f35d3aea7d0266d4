"""Fixtures for the sync tests: a store, a clock, real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.store import Store
from sync.outbox import Outbox
from sync.targets.punchclock import PunchclockTarget, register
from sync.uploader import Uploader, UploaderConfig
from tests.sync import servers
from tests.sync.queueing import queue_uploads


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "agent" / "punchclock.db")
    # The sync tests play a signed-in agent: its records are queued.
    queue_uploads(opened)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="session")
def postgres_base() -> str:
    """The PostgreSQL server `.ci/run` starts; skipped only when none answers."""
    url = servers.pg_base_url()
    reason = servers.postgres_available(url)
    if reason is not None:
        pytest.skip(f"{reason} (CI starts one; set {servers.PG_URL_ENV})")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    base = request.getfixturevalue("postgres_base")
    with servers.postgres_database(base) as url:
        yield url


@pytest.fixture
def reference(database_url: str, tmp_path: Path) -> Iterator[servers.RunningServer]:
    with servers.reference_server(database_url, tmp_path / "server-files") as running:
        yield running


@pytest.fixture
def sqlite_reference(tmp_path: Path) -> Iterator[servers.RunningServer]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with servers.reference_server(url, tmp_path / "server-files") as running:
        yield running


def sign_in(url: str, store: Store) -> str:
    answer = register(url, servers.ENROLLMENT_KEY, store.store_id, "testhost", "0.1")
    return answer["token"]


def make_uploader(
    store: Store,
    target: PunchclockTarget,
    clock: ManualClock,
    tmp_path: Path,
    **config: object,
) -> Uploader:
    settings = UploaderConfig(screenshots_dir=tmp_path / "shots", **config)  # type: ignore[arg-type]
    return Uploader(Outbox(store), target, clock, settings, rand=lambda: 0.5)
