"""Where the sign-in token is kept: the OS keyring, else a private file.

The keyring (Secret Service, macOS Keychain, Windows Credential Locker) is
tried first. Where there is none — a headless Linux box, a minimal desktop —
the token goes to a 0600 file in the config directory, and
:attr:`TokenStore.location` says so, so the CLI and ``doctor`` can tell the
worker (R5). The token itself is never logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from agent.paths import write_private
from sync.errors import TokenStoreError

log = logging.getLogger(__name__)

SERVICE = "punchclock-sync"
FILE_NAME = "sync-token.json"


class TokenStore:
    """The token per server address. ``keyring`` may be injected for tests."""

    def __init__(self, config_dir: Path, keyring: Any = None) -> None:
        self._file = config_dir / FILE_NAME
        self._keyring = keyring if keyring is not None else _import_keyring()

    @property
    def file(self) -> Path:
        return self._file

    def keyring_reason(self) -> str | None:
        """None when an OS keyring is usable, else why not."""
        if self._keyring is None:
            return "the keyring package is not installed"
        try:
            backend = self._keyring.get_keyring()
        except Exception as error:  # a broken backend must not stop sync
            return f"the keyring failed: {error}"
        if type(backend).__module__.endswith(".fail"):
            return "no OS keyring is available on this desktop"
        if getattr(backend, "priority", 1) <= 0:
            return f"the only keyring ({type(backend).__name__}) is not a secure one"
        return None

    def location(self) -> str:
        """Where a token is (or would be) kept, in words for the worker."""
        reason = self.keyring_reason()
        if reason is None:
            return "the OS keyring"
        return f"{self._file} (readable only by you; {reason})"

    def save(self, server: str, token: str) -> str:
        """Keep ``token`` for ``server``; returns :meth:`location`."""
        if self.keyring_reason() is None:
            try:
                self._keyring.set_password(SERVICE, server, token)
            except Exception as error:
                log.warning("the keyring refused the token (%s); using a file", error)
            else:
                self._forget_file(server)
                return "the OS keyring"
        self._write_file(server, token)
        why = self.keyring_reason() or "the keyring refused it"
        return f"{self._file} (readable only by you; {why})"

    def load(self, server: str) -> str | None:
        if self.keyring_reason() is None:
            try:
                token = self._keyring.get_password(SERVICE, server)
            except Exception as error:
                log.warning("the keyring could not be read (%s)", error)
            else:
                if token:
                    return str(token)
        return self._read_file().get(server)

    def delete(self, server: str) -> None:
        if self.keyring_reason() is None:
            try:
                self._keyring.delete_password(SERVICE, server)
            except Exception as error:
                log.debug("no keyring entry to delete (%s)", error)
        self._forget_file(server)

    def _read_file(self) -> dict[str, str]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise TokenStoreError(
                f"{self._file} cannot be read ({error}); sign in again with "
                "`punchclock sync login`"
            ) from error
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _write_file(self, server: str, token: str) -> None:
        tokens = self._read_file() if self._file.exists() else {}
        tokens[server] = token
        self._store_file(tokens)

    def _forget_file(self, server: str) -> None:
        if not self._file.exists():
            return
        tokens = self._read_file()
        if tokens.pop(server, None) is not None:
            self._store_file(tokens)

    def _store_file(self, tokens: dict[str, str]) -> None:
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            write_private(self._file, json.dumps(tokens).encode("utf-8"))
        except OSError as error:
            raise TokenStoreError(f"cannot write {self._file}: {error}") from error


def _import_keyring() -> Any:
    try:
        import keyring
    except ImportError:
        return None
    return keyring
