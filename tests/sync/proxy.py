"""A fault-injecting HTTP proxy on loopback, between the agent and a server.

Each request takes the next fault from a script (then passes cleanly):

- ``drop``: the connection is closed before anything reaches the server;
- ``reset_after_commit``: the request reaches the server (which commits),
  then the client's connection is reset instead of getting the answer;
- ``500`` / ``503``: answered by the proxy, the server never sees it;
- ``429``: Too Many Requests with ``Retry-After``;
- ``stall``: nothing is answered for ``stall_s`` seconds (the client's
  timeout fires first), then the connection closes; the server never sees it.

Besides the script, ``poison``: every request whose body holds these bytes is
answered 500, every time — a server that crashes on one record.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

FAULTS = ("drop", "reset_after_commit", "500", "503", "429", "stall")


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        stall_s: float = 10.0,
        retry_after: int = 1,
        poison: bytes | None = None,
    ):
        self.upstream = upstream.rstrip("/")
        self.poison = poison
        self.stall_s = stall_s
        self.retry_after = retry_after
        self.script: deque[str] = deque()
        self.log: list[tuple[str, str, str]] = []  # (method, path, fault)
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=60)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def inject(self, *faults: str) -> None:
        with self._lock:
            self.script.extend(faults)

    def _next_fault(self, method: str, path: str) -> str:
        with self._lock:
            fault = self.script.popleft() if self.script else "pass"
            self.log.append((method, path, fault))
            return fault

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._next_fault(self.command, self.path)
                if proxy.poison is not None and proxy.poison in body:
                    fault = "500"
                    proxy.log[-1] = (self.command, self.path, "poison")
                if fault == "drop":
                    self._reset()
                    return
                if fault == "stall":
                    time.sleep(proxy.stall_s)
                    self._reset()
                    return
                if fault in ("500", "503", "429"):
                    headers = {"Retry-After": str(proxy.retry_after)}
                    self._answer(int(fault), b'{"detail":"injected"}', headers)
                    return

                answer = proxy._forward(self.command, self.path, self.headers, body)
                if fault == "reset_after_commit":
                    self._reset()
                    return
                self._answer(answer.status_code, answer.content, answer.headers)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def _answer(self, status: int, body: bytes, headers: object) -> None:
                self.send_response(status)
                skip = {"content-length", "transfer-encoding", "connection", "date"}
                for name, value in dict(headers).items():  # type: ignore[call-overload]
                    if name.lower() not in skip and name.lower() != "server":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _reset(self) -> None:
                # SO_LINGER 0: close sends RST, the client sees a reset.
                linger = struct.pack("ii", 1, 0)
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.close_connection = True
                self.connection.close()

        return Handler

    def _forward(
        self, method: str, path: str, headers: object, body: bytes
    ) -> httpx.Response:
        skip = {"host", "content-length", "connection", "accept-encoding"}
        sent = {
            k: v
            for k, v in dict(headers).items()  # type: ignore[call-overload]
            if k.lower() not in skip
        }
        return self._client.request(
            method, self.upstream + path, headers=sent, content=body
        )
