"""The HTTP client every target uses, with the security rules in one place.

- TLS certificates are always verified; there is no switch to turn that off.
- Plain ``http://`` is refused unless the host is this machine (loopback),
  or the worker opted in (``sync.allow_insecure_http``).
- Redirects are never followed blindly: one to the same origin is followed
  (the token goes along); one to another origin is refused, so the token
  never reaches a host the worker did not name.
- The token lives only in the ``Authorization`` header of requests; it is
  never formatted into a message or a log line.

The transport is injectable (``httpx.MockTransport`` in tests, a real one
otherwise); every httpx exception is translated into :mod:`sync.errors` here.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from sync.backoff import parse_retry_after
from sync.errors import (
    AuthError,
    BatchRejectedError,
    InsecureURLError,
    OfflineError,
    RedirectRefusedError,
    ServerBusyError,
    SyncError,
)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_REDIRECTS = 3
USER_AGENT = "punchclock-sync/1"


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """``url`` without a trailing slash, or :class:`InsecureURLError`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecureURLError(f"{url!r} is not an http:// or https:// address")
    if parts.username or parts.password:
        raise InsecureURLError("put no user name or password in the server address")
    if parts.scheme == "http" and not (
        allow_insecure_http or is_loopback(parts.hostname)
    ):
        raise InsecureURLError(
            f"refusing plain http:// to {parts.hostname}: the token and the "
            "records would travel unencrypted. Use https://, or set "
            "sync.allow_insecure_http = true if this network is trusted"
        )
    return url.rstrip("/")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class HttpClient:
    """A thin, safe wrapper over :class:`httpx.Client` for one server."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        clock: Any = None,
    ) -> None:
        self.base_url = check_url(base_url, allow_insecure_http=allow_insecure_http)
        self._token = token
        self._clock = clock
        self._client = httpx.Client(
            transport=transport,
            timeout=timeout,
            verify=True,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; errors come back as :mod:`sync.errors`.

        Only 2xx and 304 responses are returned; every other status is raised
        as the error class the uploader decides on.
        """
        url = httpx.URL(self.base_url + path)
        origin = _origin(url)
        sent_headers = dict(headers or {})
        if self._token is not None:
            sent_headers["Authorization"] = f"Bearer {self._token}"

        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, json, content, sent_headers, params)
            if response.status_code == 304 or not response.is_redirect:
                return self._check(response)

            target = url.join(response.headers.get("Location", ""))
            if _origin(target) != origin:
                raise RedirectRefusedError(
                    f"the server redirected to {target.scheme}://{target.host}; "
                    "the token is only sent to the configured server. Set the "
                    "server address to where it redirects if that is intended"
                )
            if response.status_code not in (307, 308):
                raise RedirectRefusedError(
                    f"the server answered {response.status_code} (a redirect that "
                    "would change the request); set the address it names"
                )
            url, params = target, None
        raise RedirectRefusedError(f"more than {MAX_REDIRECTS} redirects")

    def _send(
        self,
        method: str,
        url: httpx.URL,
        json: Any,
        content: bytes | None,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
    ) -> httpx.Response:
        try:
            return self._client.request(
                method, url, json=json, content=content, headers=headers, params=params
            )
        except httpx.TimeoutException as error:
            what = type(error).__name__
            raise OfflineError(f"{url.host}: timed out ({what})") from error
        except httpx.TransportError as error:
            raise OfflineError(f"{url.host}: {_describe(error)}") from error
        except httpx.HTTPError as error:
            raise SyncError(f"{url.host}: {_describe(error)}") from error

    def _check(self, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if response.is_success or status == 304:
            return response

        detail = _detail(response)
        if status in (401, 403):
            raise AuthError(
                f"the server refused this agent's sign-in ({status}{detail}); "
                "sign in again with `punchclock sync login`"
            )
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self._now()
            )
            raise ServerBusyError(
                f"the server answered {status}{detail}",
                retry_after=retry_after,
                status=status,
            )
        if status == 413:
            raise BatchRejectedError(
                f"too large for the server{detail}", too_large=True
            )
        if status in (400, 409, 422):
            raise BatchRejectedError(f"the server refused it ({status}{detail})")
        # 404 and other 4xx: the server does not speak this protocol here; a
        # fix of the address or the server is needed, not a resend of this
        # batch. Treated as busy so it is retried slowly, never quarantined.
        raise ServerBusyError(f"the server answered {status}{detail}")

    def _now(self) -> datetime:
        if self._clock is not None:
            now: datetime = self._clock.now()
            return now
        from datetime import UTC

        return datetime.now(UTC)


def _describe(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text[:200]


def _detail(response: httpx.Response) -> str:
    """The server's own reason, short, for messages (never echoed headers)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    reason = body.get("detail") if isinstance(body, dict) else None
    return f": {str(reason)[:200]}" if reason else ""
