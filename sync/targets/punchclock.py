"""Protocol v1 over HTTP: the reference server or any compatible one."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import httpx

from sync import protocol
from sync.errors import ProtocolError
from sync.http import DEFAULT_TIMEOUT, HttpClient

log = logging.getLogger(__name__)


class PunchclockTarget:
    """Uploads batches and screenshots to a protocol v1 server."""

    name = "punchclock"
    supports_screenshots = True

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
        clock: Any = None,
    ) -> None:
        self._http = HttpClient(
            base_url,
            token=token,
            transport=transport,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
            clock=clock,
        )

    def close(self) -> None:
        self._http.close()

    def send_batch(
        self, records: list[protocol.WireRecord], *, maybe_sent: bool = False
    ) -> list[protocol.RecordResult]:
        # Resending is safe whatever happened before: the server keys every
        # record by (agent, kind, id), so ``maybe_sent`` needs no read-back.
        batch: protocol.Batch = {"records": records}
        response = self._http.request("POST", protocol.BATCH_PATH, json=batch)
        try:
            return protocol.check_results(batch, response.json())
        except ValueError as error:
            raise ProtocolError(f"unusable batch response: {error}") from error

    def probe(self) -> None:
        """An empty batch: whether the server takes batches at all (used to
        tell a record the server fails on from a server that fails)."""
        self.send_batch([])

    def send_screenshot(
        self, record_id: int, meta: dict[str, object], content: bytes
    ) -> protocol.Status:
        digest = hashlib.sha256(content).hexdigest()
        headers = {
            "Content-Type": "application/octet-stream",
            protocol.SHA256_HEADER: digest,
            protocol.SCREENSHOT_META_HEADER: json.dumps(meta, separators=(",", ":")),
        }
        path = protocol.SCREENSHOT_PATH.format(record_id=record_id)
        response = self._http.request("PUT", path, content=content, headers=headers)
        try:
            status = response.json()["status"]
        except (ValueError, KeyError, TypeError) as error:
            raise ProtocolError("unusable screenshot response") from error
        if status not in (protocol.STORED, protocol.DUPLICATE):
            raise ProtocolError(f"unknown screenshot status {str(status)[:40]!r}")
        result: protocol.Status = status
        return result

    def fetch_policy(self) -> dict[str, Any] | None:
        """The organisation's policy, or None when the server sets none."""
        body = self._json("GET", protocol.POLICY_PATH)
        policy = body.get("policy")
        if policy is not None and not isinstance(policy, dict):
            raise ProtocolError("the policy is not an object")
        return policy

    def fetch_projects(self) -> list[dict[str, Any]]:
        """The projects (with their tasks) assigned to this agent."""
        body = self._json("GET", protocol.PROJECTS_PATH)
        projects = body.get("projects")
        if not isinstance(projects, list):
            raise ProtocolError("the projects response has no list")
        return projects

    def _json(self, method: str, path: str) -> dict[str, Any]:
        response = self._http.request(method, path)
        try:
            body = response.json()
        except ValueError as error:
            raise ProtocolError(f"{path}: the answer is not JSON") from error
        if not isinstance(body, dict):
            raise ProtocolError(f"{path}: the answer is not an object")
        return body


def register(
    base_url: str,
    enrollment_key: str,
    store_id: str,
    hostname: str,
    agent_version: str,
    *,
    transport: httpx.BaseTransport | None = None,
    allow_insecure_http: bool = False,
) -> protocol.RegistrationResponse:
    """Sign this agent in to a server; returns its agent id and token."""
    http = HttpClient(
        base_url, transport=transport, allow_insecure_http=allow_insecure_http
    )
    body: protocol.Registration = {
        "enrollment_key": enrollment_key,
        "store_id": store_id,
        "hostname": hostname,
        "agent_version": agent_version,
    }
    try:
        response = http.request("POST", protocol.REGISTER_PATH, json=body)
        answer = response.json()
    except ValueError as error:
        raise ProtocolError("the registration answer is not JSON") from error
    finally:
        http.close()

    if not (
        isinstance(answer, dict)
        and isinstance(answer.get("agent_id"), str)
        and isinstance(answer.get("token"), str)
    ):
        raise ProtocolError("the registration answer lacks agent_id or token")
    return {"agent_id": answer["agent_id"], "token": answer["token"]}
