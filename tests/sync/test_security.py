"""R5 for sync: the token stays with the named server, TLS rules, keyring."""

from __future__ import annotations

import logging
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sync.errors import InsecureURLError, RedirectRefusedError
from sync.http import HttpClient, check_url
from sync.targets.punchclock import PunchclockTarget
from sync.tokens import TokenStore

TOKEN = "secret-token-value-123"


class _Recorder:
    """A loopback HTTP server that records the Authorization headers it got
    and answers with a scripted status and Location."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.seen: list[str | None] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                recorder.seen.append(self.headers.get("Authorization"))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                body = b'{"results": []}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def other_host() -> Iterator[_Recorder]:
    recorder = _Recorder()
    yield recorder
    recorder.close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_the_token_never_follows_a_redirect_to_another_host(
    other_host: _Recorder, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    # "localhost" and 127.0.0.1 are different hosts to a browser and to us.
    redirector = _Recorder(status, f"http://localhost:{other_host.port}/v1/batches")
    try:
        target = PunchclockTarget(f"http://127.0.0.1:{redirector.port}", TOKEN)
        with caplog.at_level(logging.DEBUG), pytest.raises(RedirectRefusedError):
            target.send_batch([])
    finally:
        redirector.close()

    assert redirector.seen == [f"Bearer {TOKEN}"]
    assert other_host.seen == []
    assert TOKEN not in caplog.text


def test_a_redirect_on_the_same_server_keeps_the_request(other_host: _Recorder) -> None:
    redirector = _Recorder(308, f"http://127.0.0.1:{other_host.port}/v1/batches")
    try:
        # Same host, other port: another origin, so refused as well.
        target = PunchclockTarget(f"http://127.0.0.1:{redirector.port}", TOKEN)
        with pytest.raises(RedirectRefusedError):
            target.send_batch([])
    finally:
        redirector.close()
    assert other_host.seen == []


@pytest.mark.parametrize(
    "url",
    ["http://time.example.com", "http://10.0.0.5:8750", "http://[2001:db8::1]/"],
)
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(InsecureURLError, match="unencrypted"):
        check_url(url)
    with pytest.raises(InsecureURLError):
        HttpClient(url, token=TOKEN)
    assert check_url(url, allow_insecure_http=True) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8750", "http://localhost", "http://[::1]:1", "https://a.b"],
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert check_url(url) == url


def test_credentials_in_the_address_are_refused() -> None:
    with pytest.raises(InsecureURLError):
        check_url("https://user:pw@time.example.com")


class _NoKeyring:
    """Looks like keyring's own "no backend" (not a registered backend: a
    KeyringBackend subclass would be picked up by keyring itself)."""

    priority = 0

    def get_password(self, service: str, username: str) -> str | None:
        raise AssertionError("must not be used")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("must not be used")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("must not be used")


class _KeyringModule:
    """What TokenStore uses of the keyring package, around one backend."""

    def __init__(self, backend: object) -> None:
        self.backend = backend
        self.stored: dict[tuple[str, str], str] = {}

    def get_keyring(self) -> object:
        return self.backend

    def set_password(self, service: str, user: str, password: str) -> None:
        self.stored[service, user] = password

    def get_password(self, service: str, user: str) -> str | None:
        return self.stored.get((service, user))

    def delete_password(self, service: str, user: str) -> None:
        self.stored.pop((service, user), None)


@pytest.mark.posix
def test_without_a_keyring_the_token_goes_to_a_private_file(tmp_path: Path) -> None:
    tokens = TokenStore(tmp_path / "config", keyring=_KeyringModule(_NoKeyring()))

    where = tokens.save("https://time.example.com", TOKEN)

    assert str(tokens.file) in where
    assert "readable only by you" in where
    assert stat.S_IMODE(tokens.file.stat().st_mode) == 0o600
    assert tokens.load("https://time.example.com") == TOKEN
    tokens.delete("https://time.example.com")
    assert tokens.load("https://time.example.com") is None


def test_the_real_keyring_package_without_a_backend_falls_back(
    tmp_path: Path,
) -> None:
    # keyring's own backend for "nothing available", as on a headless box.
    from keyring.backends import fail

    tokens = TokenStore(tmp_path / "config", keyring=_KeyringModule(fail.Keyring()))
    assert tokens.keyring_reason() == "no OS keyring is available on this desktop"
    tokens.save("https://a.example", TOKEN)
    assert tokens.load("https://a.example") == TOKEN


def test_with_a_keyring_no_file_is_written(tmp_path: Path) -> None:
    class Secure(_NoKeyring):
        priority = 5

    module = _KeyringModule(Secure())
    tokens = TokenStore(tmp_path / "config", keyring=module)

    assert tokens.save("https://a.example", TOKEN) == "the OS keyring"
    assert not tokens.file.exists()
    assert module.stored == {("punchclock-sync", "https://a.example"): TOKEN}
    assert tokens.load("https://a.example") == TOKEN
