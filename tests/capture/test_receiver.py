"""The browser receiver over real HTTP: what aw-watcher-web sends is
recorded; hostile requests are refused and change nothing."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from agent.clock import ManualClock
from capture.base import HealthState
from capture.browser.apps import BrowserFamily
from capture.browser.receiver import (
    BrowserReceiver,
    BrowserTab,
    ReceiverConfig,
    ReceiverPortInUse,
)

ORIGIN = "chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi"
BUCKET = "aw-watcher-web-chrome"


@pytest.fixture
def receiver() -> Iterator[BrowserReceiver]:
    receiver = BrowserReceiver(ReceiverConfig(port=0, max_body=4096), ManualClock())
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def tabs(receiver: BrowserReceiver) -> list[BrowserTab]:
    seen: list[BrowserTab] = []
    receiver.subscribe(seen.append)
    return seen


@pytest.fixture
def client(receiver: BrowserReceiver) -> Iterator[httpx.Client]:
    base = f"http://127.0.0.1:{receiver.port}"
    with httpx.Client(base_url=base, headers={"Origin": ORIGIN}) as client:
        yield client


def _heartbeat(url: str, title: str, incognito: bool = False) -> dict[str, object]:
    # The shape aw-watcher-web's heartbeat() sends through aw-client-js.
    return {
        "timestamp": "2026-01-05T09:00:00.000Z",
        "duration": 0,
        "data": {
            "url": url,
            "title": title,
            "audible": False,
            "incognito": incognito,
            "tabCount": 3,
        },
    }


def _create(client: httpx.Client, bucket: str = BUCKET) -> httpx.Response:
    body = {"client": "aw-client-web", "type": "web.tab.current", "hostname": "unknown"}
    return client.post(f"/api/0/buckets/{bucket}", json=body)


def _beat(client: httpx.Client, body: object, **kw: object) -> httpx.Response:
    return client.post(
        f"/api/0/buckets/{BUCKET}/heartbeat", params={"pulsetime": 80}, json=body, **kw
    )


def test_the_extension_conversation_is_recorded(
    client: httpx.Client, receiver: BrowserReceiver, tabs: list[BrowserTab]
) -> None:
    info = client.get("/api/0/info")
    created = _create(client)
    again = _create(client)
    beat = _beat(client, _heartbeat("https://github.com/x", "Repo x", incognito=True))

    assert info.status_code == 200
    assert {"hostname", "version", "testing"} <= info.json().keys()
    assert created.status_code == 200
    assert again.status_code == 304  # aw-client's ensureBucket accepts this
    assert beat.status_code == 200
    assert beat.json()["data"]["url"] == "https://github.com/x"
    assert beat.headers["access-control-allow-origin"] == ORIGIN

    tab = receiver.latest(BrowserFamily.CHROME)
    assert tab is not None
    assert (tab.url, tab.title, tab.incognito, tab.tab_count) == (
        "https://github.com/x",
        "Repo x",
        True,
        3,
    )
    assert [t.url for t in tabs] == ["https://github.com/x"]


def test_same_page_again_does_not_notify(
    client: httpx.Client, tabs: list[BrowserTab]
) -> None:
    _create(client)
    for _ in range(3):
        _beat(client, _heartbeat("https://a.example/", "A"))
    _beat(client, _heartbeat("https://b.example/", "B"))

    assert [t.url for t in tabs] == ["https://a.example/", "https://b.example/"]


def test_heartbeat_before_bucket_is_404_like_aw_server(
    client: httpx.Client, receiver: BrowserReceiver, tabs: list[BrowserTab]
) -> None:
    response = _beat(client, _heartbeat("https://a.example/", "A"))

    assert response.status_code == 404
    assert receiver.latest(BrowserFamily.CHROME) is None
    assert tabs == []


def test_firefox_and_api_key_clients(receiver: BrowserReceiver) -> None:
    keyed = BrowserReceiver(ReceiverConfig(port=0, api_key="s3cret"))
    keyed.start()
    try:
        base = f"http://127.0.0.1:{keyed.port}"
        with httpx.Client(base_url=base) as client:
            refused = client.get("/api/0/info")
            wrong = client.get("/api/0/info", headers={"Authorization": "Bearer nope"})
            ok = client.get("/api/0/info", headers={"Authorization": "Bearer s3cret"})
    finally:
        keyed.stop()
    with httpx.Client(base_url=f"http://localhost:{receiver.port}") as client:
        firefox = client.get(
            "/api/0/info", headers={"Origin": "moz-extension://1234-abcd"}
        )

    assert (refused.status_code, wrong.status_code, ok.status_code) == (403, 403, 200)
    assert firefox.status_code == 200


HOSTILE = [
    pytest.param({"Host": "evil.example"}, None, 403, id="foreign-host"),
    pytest.param({"Host": "127.0.0.1.evil.example:5600"}, None, 403, id="rebound-host"),
    pytest.param({"Origin": "https://evil.example"}, None, 403, id="web-origin"),
    pytest.param({"Origin": "null"}, None, 403, id="null-origin"),
    pytest.param({"Origin": ""}, None, 403, id="no-origin"),
    pytest.param({}, b"{not json", 400, id="malformed-json"),
    pytest.param({}, b"[1, 2]", 400, id="json-not-object"),
    pytest.param({}, b'{"timestamp": "x", "data": {}}', 400, id="bad-fields"),
    pytest.param({}, b"\xff\xfe garbage", 400, id="not-utf8"),
    pytest.param({}, b"{" + b" " * 10_000 + b"}", 413, id="huge-body"),
]


@pytest.mark.parametrize(("headers", "body", "status"), HOSTILE)
def test_hostile_heartbeats_are_refused_without_effect(
    client: httpx.Client,
    receiver: BrowserReceiver,
    tabs: list[BrowserTab],
    headers: dict[str, str],
    body: bytes | None,
    status: int,
) -> None:
    _create(client)
    _beat(client, _heartbeat("https://before.example/", "Before"))
    payload = (
        body
        if body is not None
        else json.dumps(_heartbeat("https://evil.example/", "Evil")).encode()
    )

    response = client.post(
        f"/api/0/buckets/{BUCKET}/heartbeat",
        params={"pulsetime": 80},
        content=payload,
        headers={"Content-Type": "application/json", **headers},
    )

    assert response.status_code == status
    tab = receiver.latest(BrowserFamily.CHROME)
    assert tab is not None
    assert tab.url == "https://before.example/"
    assert [t.url for t in tabs] == ["https://before.example/"]


def test_hostile_bucket_creation_is_refused(
    client: httpx.Client, receiver: BrowserReceiver
) -> None:
    evil_origin = client.post(
        "/api/0/buckets/aw-watcher-web-firefox",
        json={"client": "x", "type": "y", "hostname": "z"},
        headers={"Origin": "https://evil.example"},
    )
    bad_id = client.post(
        "/api/0/buckets/..%2F..%2Fetc",
        json={"client": "x", "type": "y", "hostname": "z"},
    )
    missing = client.post("/api/0/buckets/aw-watcher-web-firefox", json={"client": "x"})

    assert (evil_origin.status_code, bad_id.status_code, missing.status_code) == (
        403,
        404,
        400,
    )
    assert receiver.buckets() == {}


def test_missing_pulsetime_and_chunked_bodies_are_refused(
    client: httpx.Client, receiver: BrowserReceiver
) -> None:
    _create(client)
    no_pulse = client.post(
        f"/api/0/buckets/{BUCKET}/heartbeat", json=_heartbeat("https://a/", "A")
    )
    chunked = client.post(
        f"/api/0/buckets/{BUCKET}/heartbeat",
        params={"pulsetime": 1},
        content=iter([b'{"data": {"url": "https://a/"}}']),
    )

    assert no_pulse.status_code == 400
    assert chunked.status_code == 411
    assert receiver.latest(BrowserFamily.CHROME) is None


def test_raw_request_without_host_is_refused(receiver: BrowserReceiver) -> None:
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=5) as conn:
        conn.sendall(
            b"GET /api/0/info HTTP/1.0\r\nOrigin: " + ORIGIN.encode() + b"\r\n\r\n"
        )
        reply = conn.recv(1024)

    assert reply.startswith(b"HTTP/1.1 403")


def test_port_in_use_is_a_typed_error_and_a_health_reason(
    receiver: BrowserReceiver,
) -> None:
    second = BrowserReceiver(ReceiverConfig(port=receiver.port))

    with pytest.raises(ReceiverPortInUse):
        second.start()

    health = second.health()
    assert health.state is HealthState.UNAVAILABLE
    assert str(receiver.port) in health.reason
    assert "extension" in health.fix
    assert receiver.health().ok


def test_preflight_answers_extension_origins_only(client: httpx.Client) -> None:
    ok = client.options(
        "/api/0/buckets/x/heartbeat", headers={"Access-Control-Request-Method": "POST"}
    )
    evil = client.options(
        "/api/0/buckets/x/heartbeat", headers={"Origin": "https://evil.example"}
    )

    assert ok.status_code == 204
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers
