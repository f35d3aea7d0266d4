"""The sync errors, one class per failure the uploader decides on.

Targets translate what their transport raises (httpx errors, HTTP statuses,
malformed bodies) into these at their boundary with ``raise … from``; the
uploader never sees an httpx exception. Each class says whether the batch is
worth sending again (:attr:`SyncError.retry`), and the uploader decides the
rest (backoff, quarantine, stopping) per class.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error the sync package raises on purpose."""

    # Whether sending the same batch again later can succeed.
    retry = False


class ConfigError(SyncError):
    """The sync settings cannot be used: no server, an unsafe URL, no token.

    Nothing is sent until the worker fixes the settings or signs in again.
    """


class InsecureURLError(ConfigError):
    """Plain HTTP to a host that is not this machine, without the opt-in."""


class TokenStoreError(ConfigError):
    """The sign-in token can be neither read nor written."""


class AuthError(SyncError):
    """The server refused the token (401/403): sign in again.

    Not retried: every further attempt would be refused the same way, and
    hammering a server with a revoked token helps no one.
    """


class RedirectRefusedError(SyncError):
    """The server redirected to another origin; the token is not sent there."""


class TransientError(SyncError):
    """Worth retrying after a pause: the server or the network may recover."""

    retry = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OfflineError(TransientError):
    """The server could not be reached, or the connection broke mid-request.

    Ambiguous when the request was already sent: the server may have stored
    the batch. Resending is safe because uploads are idempotent.
    """


class ServerBusyError(TransientError):
    """5xx, or 429 Too Many Requests; ``retry_after`` when the server said.

    ``status`` is the HTTP status when there was one: a 500 that comes back
    every time for the same batch may be one record the server cannot store
    (see :meth:`sync.uploader.Uploader._isolate`), unlike 503 or 429, which
    say the server is busy whatever it is sent.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status

    @property
    def server_fault(self) -> bool:
        """The server failed on the request (500, 502, 504, ...), not busy."""
        return self.status is not None and self.status >= 500 and self.status != 503


class ProtocolError(TransientError):
    """A success status with a body that breaks the protocol.

    Retried like a server fault (the server may be mid-upgrade); the batch
    may have been stored, so the resend relies on idempotency.
    """


class BatchRejectedError(SyncError):
    """The server refused the batch as a whole (400, 413, 422).

    The uploader splits the batch to find the record at fault; a single
    record refused this way is quarantined.
    """

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large
