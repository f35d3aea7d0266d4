"""A loopback receiver for the ActivityWatch browser extension (aw-watcher-web).

The extension reports the active tab's URL and title to an ActivityWatch
server on 127.0.0.1:5600. This receiver speaks the part of that REST API the
extension uses, so a worker can install the existing extension and the agent
learns the URL of the page in front:

- ``GET /api/0/info`` — server info (the extension reads the hostname);
- ``POST /api/0/buckets/<id>`` — bucket creation, 200 when new and 304 when
  it exists, as aw-server answers and aw-client's ``ensureBucket`` expects;
- ``POST /api/0/buckets/<id>/heartbeat?pulsetime=N`` with
  ``{"timestamp", "duration", "data": {"url", "title", "audible",
  "incognito", "tabCount"}}``.

Nothing is stored here: the receiver keeps only the latest tab per browser
in memory and tells its subscribers; the focus source decides whether that
browser is in front.

Local endpoints are reachable by every web page the worker opens, so a
request is refused, without any effect, unless its Host header names the
loopback interface (against DNS rebinding) and its Origin is a browser
extension's or it carries the configured API key (against pages posting
to localhost). Bodies above a size cap and malformed JSON are refused too.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from agent.clock import Clock, SystemClock
from capture.base import CaptureError, CaptureHealth
from capture.browser.apps import BrowserFamily, family_of_bucket

log = logging.getLogger(__name__)

SOURCE = "browser-url"
BACKEND = "aw-receiver"
DEFAULT_PORT = 5600

EXTENSION_ORIGINS = (
    "chrome-extension://",
    "moz-extension://",
    "safari-web-extension://",
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
_BUCKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_BUCKET_PATH = re.compile(r"/api/0/buckets/([^/]+)(/heartbeat)?")


class ReceiverError(CaptureError):
    """The browser receiver could not start."""


class ReceiverPortInUse(ReceiverError):
    """Another program (often ActivityWatch itself) holds the port."""


@dataclass(frozen=True)
class ReceiverConfig:
    """Where the receiver listens and whom it accepts.

    ``port`` 0 lets the system choose (tests). ``api_key``, when set, admits
    requests that carry ``Authorization: Bearer <key>`` from any origin.
    """

    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    api_key: str | None = None
    max_body: int = 64 * 1024
    max_buckets: int = 32
    request_timeout: float = 5.0


@dataclass(frozen=True)
class BrowserTab:
    """The active tab of one browser, as its extension last reported it."""

    bucket_id: str
    family: BrowserFamily | None
    url: str
    title: str
    incognito: bool
    audible: bool
    tab_count: int | None
    timestamp: datetime
    received_mono: float

    def same_page(self, other: BrowserTab | None) -> bool:
        if other is None:
            return False
        return (self.url, self.title, self.incognito) == (
            other.url,
            other.title,
            other.incognito,
        )


TabCallback = Callable[[BrowserTab], None]


class RequestRefused(Exception):
    """A request the receiver answers with an error status and ignores."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BrowserReceiver:
    """The loopback HTTP server; one thread per connection, all daemon.

    ``start`` and ``stop`` are called by the agent's thread; ``start`` binds
    the port and raises :class:`ReceiverPortInUse` when it is taken.
    Subscribers are called on the request's thread and must not block.
    ``latest`` and ``health`` may be called from any thread.
    """

    def __init__(
        self, config: ReceiverConfig | None = None, clock: Clock | None = None
    ) -> None:
        self.config = config or ReceiverConfig()
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._buckets: dict[str, dict[str, Any]] = {}
        self._tabs: dict[str, BrowserTab] = {}
        self._subscribers: list[TabCallback] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._health = CaptureHealth.off(SOURCE, BACKEND, "receiver not started")

    # lifecycle

    def start(self) -> None:
        try:
            server = _Server((self.config.host, self.config.port), self)
        except OSError as exc:
            reason = f"port {self.config.port} is in use ({exc.strerror})"
            self._health = CaptureHealth.unavailable(
                SOURCE,
                BACKEND,
                reason,
                "quit ActivityWatch's server or choose another receiver port "
                "and enter it in the browser extension's settings",
            )
            raise ReceiverPortInUse(reason) from exc

        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="browser-receiver",
            daemon=True,
        )
        self._thread.start()
        self._health = CaptureHealth.working(SOURCE, BACKEND)
        log.info("browser receiver listening on %s:%d", self.config.host, self.port)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._health = CaptureHealth.off(SOURCE, BACKEND, "receiver stopped")
        log.info("browser receiver stopped")

    @property
    def port(self) -> int:
        if self._server is None:
            return self.config.port
        return int(self._server.server_address[1])

    def health(self) -> CaptureHealth:
        return self._health

    # what the focus source reads

    def subscribe(self, callback: TabCallback) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def unsubscribe(self, callback: TabCallback) -> None:
        with self._lock:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

    def latest(self, family: BrowserFamily) -> BrowserTab | None:
        """The most recently reported tab of a browser of that family."""
        with self._lock:
            tabs = [t for t in self._tabs.values() if t.family is family]
        return max(tabs, key=lambda t: t.received_mono, default=None)

    def buckets(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._buckets.items()}

    # what the request handler calls

    def info(self) -> dict[str, Any]:
        return {
            "hostname": socket.gethostname(),
            "version": "punchclock-receiver",
            "testing": False,
            "device_id": "punchclock",
        }

    def create_bucket(self, bucket_id: str, body: dict[str, Any]) -> bool:
        """Records a bucket; False when it already existed."""
        for key in ("client", "type", "hostname"):
            if not isinstance(body.get(key), str):
                raise RequestRefused(HTTPStatus.BAD_REQUEST, f"missing {key!r}")

        with self._lock:
            if bucket_id in self._buckets:
                return False
            if len(self._buckets) >= self.config.max_buckets:
                raise RequestRefused(
                    HTTPStatus.INSUFFICIENT_STORAGE, "too many buckets"
                )
            self._buckets[bucket_id] = {
                "id": bucket_id,
                "name": bucket_id,
                "type": body["type"],
                "client": body["client"],
                "hostname": body["hostname"],
                "created": self._clock.now().isoformat(),
                "data": {},
            }
        log.info("browser extension bucket %s created", bucket_id)
        return True

    def heartbeat(self, bucket_id: str, body: dict[str, Any]) -> dict[str, Any]:
        tab = self._parse_heartbeat(bucket_id, body)
        with self._lock:
            if bucket_id not in self._buckets:
                raise RequestRefused(
                    HTTPStatus.NOT_FOUND, f"There's no bucket named {bucket_id}"
                )
            previous = self._tabs.get(bucket_id)
            self._tabs[bucket_id] = tab
            subscribers = list(self._subscribers)

        if not tab.same_page(previous):
            log.debug("browser %s tab changed", bucket_id)
            for callback in subscribers:
                callback(tab)
        return {
            "id": None,
            "timestamp": tab.timestamp.isoformat(),
            "duration": body.get("duration", 0),
            "data": body["data"],
        }

    def _parse_heartbeat(self, bucket_id: str, body: dict[str, Any]) -> BrowserTab:
        data = body.get("data")
        if not isinstance(data, dict):
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "'data' must be an object")
        url, title = data.get("url"), data.get("title", "")
        if not isinstance(url, str) or not isinstance(title, str):
            raise RequestRefused(
                HTTPStatus.BAD_REQUEST, "'url' and 'title' must be text"
            )
        tab_count = data.get("tabCount")
        return BrowserTab(
            bucket_id=bucket_id,
            family=family_of_bucket(bucket_id),
            url=url,
            title=title,
            incognito=data.get("incognito") is True,
            audible=data.get("audible") is True,
            tab_count=tab_count if isinstance(tab_count, int) else None,
            timestamp=_parse_timestamp(body.get("timestamp")),
            received_mono=self._clock.monotonic(),
        )

    def admits(self, host: str | None, origin: str | None, auth: str | None) -> None:
        """Raises :class:`RequestRefused` unless the request may have effect."""
        if host is None or _host_name(host) not in LOOPBACK_HOSTS:
            raise RequestRefused(HTTPStatus.FORBIDDEN, "Host must be loopback")
        if self._key_matches(auth):
            return
        if origin is None or not origin.startswith(EXTENSION_ORIGINS):
            raise RequestRefused(HTTPStatus.FORBIDDEN, "Origin not allowed")

    def _key_matches(self, auth: str | None) -> bool:
        key = self.config.api_key
        if not key or not auth or not auth.startswith("Bearer "):
            return False
        return hmac.compare_digest(auth[len("Bearer ") :].encode(), key.encode())


def _host_name(host: str) -> str:
    """The Host header without its port (IPv6 literals keep their brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def _parse_timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise RequestRefused(HTTPStatus.BAD_REQUEST, "'timestamp' must be text")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RequestRefused(HTTPStatus.BAD_REQUEST, "bad 'timestamp'") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], receiver: BrowserReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "punchclock"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # A client that stalls mid-request must not hold a thread for long.
        self.connection.settimeout(self.server.receiver.config.request_timeout)

    def do_GET(self) -> None:
        self._handle(self._route_get)

    def do_POST(self) -> None:
        self._handle(self._route_post)

    def do_OPTIONS(self) -> None:
        # CORS preflight: answered for extension origins only, changes nothing.
        self._handle(lambda path, query: (HTTPStatus.NO_CONTENT, None))

    def do_PUT(self) -> None:
        self._refuse(RequestRefused(HTTPStatus.METHOD_NOT_ALLOWED, "not allowed"))

    do_DELETE = do_PUT
    do_PATCH = do_PUT

    def log_message(self, format: str, *args: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("receiver: %s", format % args)

    def _handle(
        self,
        route: Callable[[str, dict[str, list[str]]], tuple[HTTPStatus, object]],
    ) -> None:
        receiver = self.server.receiver
        try:
            receiver.admits(
                self.headers.get("Host"),
                self.headers.get("Origin"),
                self.headers.get("Authorization"),
            )
            parts = urlsplit(self.path)
            status, payload = route(parts.path, parse_qs(parts.query))
        except RequestRefused as refused:
            self._refuse(refused)
            return
        self._reply(status, payload)

    def _route_get(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[HTTPStatus, object]:
        receiver = self.server.receiver
        if path == "/api/0/info":
            return HTTPStatus.OK, receiver.info()
        if path == "/api/0/buckets/":
            return HTTPStatus.OK, receiver.buckets()
        bucket_id, heartbeat = _bucket_path(path)
        bucket = receiver.buckets().get(bucket_id)
        if heartbeat or bucket is None:
            raise RequestRefused(HTTPStatus.NOT_FOUND, "not found")
        return HTTPStatus.OK, bucket

    def _route_post(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[HTTPStatus, object]:
        bucket_id, heartbeat = _bucket_path(path)
        receiver = self.server.receiver
        if heartbeat:
            _pulsetime(query)
            return HTTPStatus.OK, receiver.heartbeat(bucket_id, self._read_json())
        created = receiver.create_bucket(bucket_id, self._read_json())
        return (HTTPStatus.OK, {}) if created else (HTTPStatus.NOT_MODIFIED, None)

    def _read_json(self) -> dict[str, Any]:
        if self.headers.get("Transfer-Encoding"):
            raise RequestRefused(HTTPStatus.LENGTH_REQUIRED, "chunked bodies refused")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError as exc:
            raise RequestRefused(HTTPStatus.LENGTH_REQUIRED, "length needed") from exc
        if length < 0 or length > self.server.receiver.config.max_body:
            raise RequestRefused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too big")

        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "malformed JSON") from exc
        if not isinstance(body, dict):
            raise RequestRefused(HTTPStatus.BAD_REQUEST, "a JSON object is expected")
        return body

    def _refuse(self, refused: RequestRefused) -> None:
        log.warning(
            "browser receiver refused %s %s: %s",
            self.command,
            self.path[:200],
            refused.message,
        )
        # The body may be unread: never reuse this connection, and say so,
        # or a keep-alive client sends its next request into a closed socket.
        self._reply(refused.status, {"message": refused.message}, cors=False)

    def _reply(self, status: HTTPStatus, payload: object, cors: bool = True) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if not cors:
            self.send_header("Connection", "close")
        origin = self.headers.get("Origin")
        if cors and origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
            self.send_header(
                "Access-Control-Allow-Headers", "Content-Type, Authorization"
            )
            self.send_header("Vary", "Origin")
        if status not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.end_headers()


def _bucket_path(path: str) -> tuple[str, bool]:
    match = _BUCKET_PATH.fullmatch(path)
    if match is None or not _BUCKET_ID.fullmatch(match.group(1)):
        raise RequestRefused(HTTPStatus.NOT_FOUND, "not found")
    return match.group(1), match.group(2) is not None


def _pulsetime(query: dict[str, list[str]]) -> float:
    try:
        value = float(query["pulsetime"][0])
    except (KeyError, ValueError) as exc:
        raise RequestRefused(HTTPStatus.BAD_REQUEST, "pulsetime needed") from exc
    if not value >= 0:
        raise RequestRefused(HTTPStatus.BAD_REQUEST, "pulsetime must be >= 0")
    return value
