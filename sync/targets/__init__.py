"""Where records go: one interface, one class per kind of server.

- :class:`~sync.targets.punchclock.PunchclockTarget` speaks protocol v1 to the
  reference server or any compatible one;
- :class:`~sync.targets.activitywatch.ActivityWatchTarget` writes events
  into an aw-server's buckets.

The uploader only knows :class:`Target`; tests swap in a fake through it.
"""

from __future__ import annotations

from typing import Protocol

from sync import protocol


class Target(Protocol):
    """A server records are uploaded to. Called from one uploader thread.

    Every method may block on the network for up to the client's timeout and
    raises only :mod:`sync.errors` exceptions.
    """

    name: str
    supports_screenshots: bool

    def send_batch(
        self, records: list[protocol.WireRecord], *, maybe_sent: bool = False
    ) -> list[protocol.RecordResult]:
        """Upload ``records``; one result per record, in order.

        ``maybe_sent``: an earlier attempt with some of these records may
        have reached the server (a target without idempotent inserts reads
        back before sending).
        """
        ...

    def send_screenshot(
        self, record_id: int, meta: dict[str, object], content: bytes
    ) -> protocol.Status:
        """Upload one screenshot file with its metadata."""
        ...

    def close(self) -> None: ...
