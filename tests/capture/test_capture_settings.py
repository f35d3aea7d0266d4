"""[capture] settings reach the sources the agent builds: the browser
receiver's key, and the privacy rules of the focus source."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import httpx
import pytest

from agent.capturing import CaptureSet, focus_privacy
from agent.clock import SystemClock
from agent.settings import CaptureSettings, default_settings
from capture.base import FocusSample
from capture.browser.apps import BrowserFamily
from capture.focus.privacy import PRIVATE_APP

KEY = "5f0c2e9a7b1d4c3e8f6a0b2d4c6e8f0a"
BUCKET = "aw-watcher-web-chrome"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(**changes: object) -> CaptureSettings:
    # Input and screenshots off: only the receiver and focus are under test.
    return dataclasses.replace(
        default_settings().capture,
        input_enabled=False,
        screenshots_enabled=False,
        browser_receiver_port=_free_port(),
        **changes,
    )


@pytest.fixture
def running(request: pytest.FixtureRequest) -> Iterator[CaptureSet]:
    """The agent's capture set, built from ``[capture]`` with these changes."""
    capture = CaptureSet.from_settings(_settings(**request.param), SystemClock())
    capture.start(lambda sample: None)
    yield capture
    capture.stop()


def _script_reports(port: int, headers: dict[str, str]) -> list[int]:
    """A local program (no browser Origin) creates a bucket and sends a tab."""
    base = f"http://127.0.0.1:{port}/api/0/buckets/{BUCKET}"
    bucket = {"client": "my-script", "type": "web.tab.current", "hostname": "h"}
    beat = {
        "timestamp": "2026-01-05T09:00:00Z",
        "duration": 0,
        "data": {"url": "https://example.com/a", "title": "A", "incognito": False},
    }
    with httpx.Client(headers=headers) as client:
        created = client.post(base, json=bucket)
        sent = client.post(f"{base}/heartbeat?pulsetime=60", json=beat)
    return [created.status_code, sent.status_code]


@pytest.mark.parametrize("running", [{"browser_receiver_key": KEY}], indirect=True)
def test_the_receiver_admits_a_program_only_with_the_configured_key(
    running: CaptureSet,
) -> None:
    receiver = running.receiver
    assert receiver is not None
    assert receiver.health().ok

    without = _script_reports(receiver.port, {})
    wrong = _script_reports(receiver.port, {"Authorization": f"Bearer {KEY[:-1]}x"})
    assert receiver.buckets() == {}
    assert receiver.latest(BrowserFamily.CHROME) is None

    right = _script_reports(receiver.port, {"Authorization": f"Bearer {KEY}"})
    tab = receiver.latest(BrowserFamily.CHROME)

    assert without == [403, 403]
    assert wrong == [403, 403]
    assert right == [200, 200]
    assert tab is not None
    assert tab.url == "https://example.com/a"


@pytest.mark.parametrize("running", [{}], indirect=True)
def test_without_a_key_no_bearer_header_is_admitted(running: CaptureSet) -> None:
    receiver = running.receiver
    assert receiver is not None

    # The empty default means "no key", not "the empty key".
    for header in ("Bearer", f"Bearer {KEY}"):
        assert _script_reports(receiver.port, {"Authorization": header}) == [403, 403]
    assert receiver.buckets() == {}


def _focused(title: str) -> FocusSample:
    from datetime import UTC, datetime

    return FocusSample(
        at=datetime(2026, 1, 5, 9, tzinfo=UTC),
        mono=1.0,
        app="Firefox",
        title=title,
        url="https://bank.example/account",
        domain="bank.example",
        pid=42,
        wm_class="firefox",
    )


@pytest.mark.parametrize(
    ("app_name", "app", "wm_class", "pid"),
    [("keep", "Firefox", "firefox", 42), ("hide", PRIVATE_APP, None, None)],
)
def test_private_titles_and_app_name_reach_the_privacy_rules(
    app_name: str, app: str, wm_class: str | None, pid: int | None
) -> None:
    privacy = focus_privacy(
        _settings(private_titles=("*online banking*",), private_app_name=app_name)
    )

    hidden = privacy.apply(_focused("Acme Online Banking - Firefox"))
    shown = privacy.apply(_focused("Weather - Firefox"))

    assert (hidden.app, hidden.wm_class, hidden.pid) == (app, wm_class, pid)
    assert (hidden.title, hidden.url, hidden.domain) == ("", None, None)
    assert hidden.private
    assert shown.title == "Weather - Firefox"
    assert not shown.private


def test_by_default_no_title_is_private_and_the_app_name_is_kept() -> None:
    privacy = focus_privacy(default_settings().capture)

    assert privacy.excluded_titles == ()
    assert privacy.keep_private_app_name
