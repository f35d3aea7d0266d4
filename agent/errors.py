"""The agent's error hierarchy.

Errors are raised where they happen and translated at the boundaries: the CLI
prints ``str(error)`` to stderr with a non-zero exit, the tray shows it in a
dialog. A message says what went wrong and what to do about it.
"""

from __future__ import annotations


class PunchclockError(Exception):
    """Base of every error the agent raises on purpose."""

    exit_code = 1


class UserError(PunchclockError):
    """The request cannot be done as asked; the message says why and what to do."""

    exit_code = 2


class NotFoundError(UserError):
    """A named project, task or entry does not exist."""


class ConflictError(UserError):
    """The request contradicts what is stored (an overlap, a duplicate name)."""


class StoreError(PunchclockError):
    """The local store cannot be read or written."""

    exit_code = 3


class StoreBusyError(StoreError):
    """Another process held the store's write lock for too long."""


class StoreCorruptError(StoreError):
    """The database file is damaged; it was kept aside and a new one started."""


class NotAvailableError(PunchclockError):
    """The capability exists in the contract but is not built in this version."""

    exit_code = 4
