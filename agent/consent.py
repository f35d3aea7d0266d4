"""The worker's consent to capture: what the policy collects, and the answer.

Before anything is captured the worker is shown :class:`Collection` — what
this policy collects (activity, apps, titles, URLs, screenshots) and where it
goes — and accepts or declines. The answer is a :class:`ConsentRecord` kept in
the store's ``meta`` table, so the tray app, the headless agent and
``punchclock consent`` share it, and a running agent sees a change made from
the terminal on its next tick (the store's data version changes).

An answer covers what was shown. When the policy later collects something the
worker did not accept (screenshots turned on, say), the consent is *stale* and
capture waits for a new answer; collecting less needs no new answer.

Whoever starts capture sources asks :meth:`Consent.capture_allowed`; whoever
starts the timer asks :meth:`Consent.timer_allowed` (a policy that requires
capture makes the timer unusable without consent, and says so).
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from agent.clock import Clock
from agent.errors import UserError
from agent.settings import Settings
from agent.store import Store
from agent.store.models import Meta

log = logging.getLogger(__name__)

META_KEY = "consent"
RECORD_VERSION = 1

# What each kind of collection means, in the words the worker reads.
KINDS: dict[str, str] = {
    "activity": "Keyboard and mouse activity: how many seconds had any input "
    "(counts only, never which keys)",
    "apps": "The name of the application in front",
    "titles": "Window titles of the application in front",
    "urls": "Web addresses of the browser tab in front",
    "domains": "The web site (domain only) of the browser tab in front",
    "screenshots": "Screenshots of your screens at random moments",
}


class ConsentState(enum.StrEnum):
    NEEDED = "needed"
    """Never answered: nothing is captured until the worker answers."""
    GIVEN = "given"
    DECLINED = "declined"
    STALE = "stale"
    """Accepted, but the policy now collects more than was accepted."""


@dataclass(frozen=True)
class Collection:
    """What the policy in force collects, and where it goes."""

    kinds: tuple[str, ...]
    private_apps: tuple[str, ...]
    destination: str
    requires_capture: bool = False
    screenshots_per_slot: int = 0
    blur: bool = False
    private_titles: tuple[str, ...] = ()
    slot_minutes: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> Collection:
        capture = settings.capture
        kinds: list[str] = []
        if capture.input_enabled:
            kinds.append("activity")
        if capture.focus_enabled:
            kinds.append("apps")
            if capture.title_level == "full":
                kinds += ["titles", "urls"]
            elif capture.title_level == "domain-only":
                kinds.append("domains")
        shots = settings.screenshots
        if capture.screenshots_enabled and shots.per_slot > 0:
            kinds.append("screenshots")
        return cls(
            kinds=tuple(kinds),
            private_apps=capture.private_apps,
            destination=destination(settings.sync.server_url),
            requires_capture=settings.consent.capture_required,
            screenshots_per_slot=shots.per_slot if "screenshots" in kinds else 0,
            blur=shots.blur,
            private_titles=capture.private_titles,
            slot_minutes=settings.activity.slot_minutes,
        )

    def collects(self, kind: str) -> bool:
        return kind in self.kinds

    def lines(self) -> list[tuple[str, bool, str]]:
        """(kind, collected, description) for every kind, collected first."""
        # Full URLs include the domain: one line for web pages, not two.
        hidden = "domains" if "urls" in self.kinds else "urls"
        rows = [
            (kind, kind in self.kinds, self._describe(kind, text))
            for kind, text in KINDS.items()
            if kind != hidden
        ]
        return sorted(rows, key=lambda row: not row[1])

    def _describe(self, kind: str, text: str) -> str:
        if kind != "screenshots" or not self.screenshots_per_slot:
            return text
        count = self.screenshots_per_slot
        blurred = ", blurred before they are saved" if self.blur else ""
        return (
            f"Screenshots of your screens: {count} at random moments in every "
            f"{self.slot_minutes}-minute slot{blurred}"
        )


def destination(server_url: str) -> str:
    if not server_url:
        return (
            "Everything stays on this computer: no server is set up, nothing "
            "is uploaded."
        )
    return (
        f"Kept on this computer first, then uploaded to {server_url}, where "
        "your team lead reviews it."
    )


@dataclass(frozen=True)
class ConsentRecord:
    """The worker's answer, and what it answered to."""

    accepted: bool
    at: datetime
    kinds: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": RECORD_VERSION,
                "accepted": self.accepted,
                "at": self.at.isoformat(),
                "kinds": list(self.kinds),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ConsentRecord | None:
        """The record, or None when the stored text is not one (asks again)."""
        try:
            raw = json.loads(text)
            kinds = raw["kinds"]
            if not isinstance(kinds, list) or not isinstance(raw["accepted"], bool):
                raise TypeError("wrong types")
            return cls(
                accepted=raw["accepted"],
                at=datetime.fromisoformat(raw["at"]),
                kinds=tuple(str(kind) for kind in kinds),
            )
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("stored consent is unreadable (%s); asking again", exc)
            return None


# Why the timer waits, by the consent's state, in the worker's words.
_WITHHELD = {
    ConsentState.NEEDED: "you have not answered yet",
    ConsentState.DECLINED: "you declined it",
    ConsentState.STALE: "the policy now collects more than you accepted",
    ConsentState.GIVEN: "it is given",
}


class Consent:
    """Reads and records the worker's consent in the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(self) -> ConsentRecord | None:
        text = self._store.meta(META_KEY)
        return ConsentRecord.from_json(text) if text is not None else None

    def state(self, collection: Collection) -> ConsentState:
        record = self.record()
        if record is None:
            return ConsentState.NEEDED
        if not record.accepted:
            return ConsentState.DECLINED
        if set(collection.kinds) - set(record.kinds):
            return ConsentState.STALE
        return ConsentState.GIVEN

    def capture_allowed(self, collection: Collection) -> bool:
        return self.state(collection) is ConsentState.GIVEN

    def timer_allowed(self, collection: Collection) -> bool:
        return not collection.requires_capture or self.capture_allowed(collection)

    def check_timer(self, collection: Collection) -> None:
        """Raise :class:`UserError` when policy needs consent the worker withheld."""
        if self.timer_allowed(collection):
            return
        why = _WITHHELD[self.state(collection)]
        raise UserError(
            "your organisation's policy requires capture while the timer runs, "
            f"and {why}; see what is collected with `punchclock consent show`, "
            "accept it with `punchclock consent accept`, then start the timer"
        )

    def accept(self, collection: Collection) -> ConsentRecord:
        return self._save(ConsentRecord(True, self._clock.now(), collection.kinds))

    def decline(self) -> ConsentRecord:
        """Decline, or withdraw consent given before."""
        return self._save(ConsentRecord(False, self._clock.now(), ()))

    def _save(self, record: ConsentRecord) -> ConsentRecord:
        with self._store.write() as session:
            session.merge(Meta(key=META_KEY, value=record.to_json()))
        log.info(
            "consent %s (%s)",
            "given" if record.accepted else "declined",
            ", ".join(record.kinds) or "nothing",
        )
        return record


class ConsentWatch:
    """Follows the stored answer while an agent runs, for the headless agent.

    :meth:`poll` is cheap while nothing changed: the store's data version is
    a PRAGMA on a connection of its own; only a changed version costs a read
    of the consent row, and only a changed row a new state.
    """

    def __init__(self, store: Store, clock: Clock, collection: Collection) -> None:
        self._store = store
        self._consent = Consent(store, clock)
        self._collection = collection
        self._version = store.data_version()
        self._marker = store.meta(META_KEY)
        self.allowed = self._consent.capture_allowed(collection)

    def follow(self, collection: Collection) -> bool:
        """Judge the stored answer against a new policy's collection from
        now on; returns whether capture is allowed under it."""
        self._collection = collection
        self.allowed = self._consent.capture_allowed(collection)
        return self.allowed

    def poll(self) -> bool | None:
        """Whether capture is now allowed, when that changed; else None.

        Raises :class:`~agent.errors.StoreError` when the store cannot be
        read (the caller asks again on its next poll).
        """
        version = self._store.data_version()
        if version == self._version:
            return None
        self._version = version
        # Flushes and spans change the version every few seconds.
        marker = self._store.meta(META_KEY)
        if marker == self._marker:
            return None
        self._marker = marker
        allowed = self._consent.capture_allowed(self._collection)
        if allowed == self.allowed:
            return None
        self.allowed = allowed
        return allowed


def capture_consented(store: Store, clock: Clock, settings: Settings) -> bool:
    """Whether capture may start now; what the headless agent asks at start."""
    consent = Consent(store, clock)
    allowed = consent.capture_allowed(Collection.from_settings(settings))
    if not allowed:
        log.info("capture stays off: no consent (`punchclock consent show`)")
    return allowed
