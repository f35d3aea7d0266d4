"""The store's tables as typed SQLAlchemy models.

Conventions:

- Records the agent creates carry a client-generated 63-bit id
  (:mod:`agent.ids`) as primary key; it is their idempotency key on upload.
- Moments are stored as integer milliseconds since the Unix epoch, UTC
  (:class:`UtcMillis`): exact, compact and free of time-zone text.
- App names, window titles and URLs are stored once in their own tables and
  referenced by spans, so a workday of thousands of spans stays small.
- Rows that sync must be able to delete on the server are soft-deleted
  (``deleted_at``) rather than removed.

Changing a model needs a new Alembic revision in ``migrations/versions``.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from agent.ids import new_id

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class UtcMillis(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as integer milliseconds, UTC."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(
        self, value: datetime | None, dialect: Dialect
    ) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        return to_millis(value)

    def process_result_value(
        self, value: int | None, dialect: Dialect
    ) -> datetime | None:
        if value is None:
            return None
        return from_millis(value)


def to_millis(moment: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime, rounded down."""
    delta = moment - _EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def to_stored(moment: datetime) -> datetime:
    """``moment`` cut to the milliseconds the store keeps."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EntrySource(enum.StrEnum):
    TIMER = "timer"
    MANUAL = "manual"
    IDLE_KEPT = "idle-kept"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# SQLite's INTEGER PRIMARY KEY is the rowid itself (no second index); the
# ids are 63-bit, which SQLite's INTEGER holds.
_ClientId = BigInteger().with_variant(Integer(), "sqlite")


def _client_id() -> Mapped[int]:
    return mapped_column(_ClientId, primary_key=True, default=new_id)


class Meta(Base):
    """Facts about this store: its own id, when it was made."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = _client_id()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    archived_at: Mapped[datetime | None] = mapped_column(UtcMillis)

    tasks: Mapped[list[Task]] = relationship(
        back_populates="project", order_by="Task.name"
    )


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = _client_id()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    archived_at: Mapped[datetime | None] = mapped_column(UtcMillis)

    project: Mapped[Project] = relationship(back_populates="tasks")


class Entry(Base):
    """A span of clocked work. ``end`` is None while the entry runs.

    ``flushed_at`` is the last moment a running agent confirmed the entry was
    still being worked on. An entry left open by an agent that died is closed
    there, never at the restart. An entry started while no agent ran has no
    flush and simply runs on the wall clock.
    """

    __tablename__ = "entries"
    __table_args__ = (
        # At most one entry runs at a time, whichever process started it.
        Index(
            "ix_entries_one_running",
            literal_column("(1)"),
            unique=True,
            sqlite_where=literal_column("end_ms IS NULL AND deleted_at IS NULL"),
        ),
        Index("ix_entries_start_ms", "start_ms"),
    )

    id: Mapped[int] = _client_id()
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default=EntrySource.TIMER)
    start: Mapped[datetime] = mapped_column("start_ms", UtcMillis)
    end: Mapped[datetime | None] = mapped_column("end_ms", UtcMillis)
    flushed_at: Mapped[datetime | None] = mapped_column(UtcMillis)
    updated_at: Mapped[datetime] = mapped_column(UtcMillis)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcMillis)

    project: Mapped[Project] = relationship()
    task: Mapped[Task | None] = relationship()


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)


class Title(Base):
    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text, unique=True)


class Url(Base):
    """A page: its URL and domain, or only its domain where that is all the
    agent knows (the host in a browser's window title); one row per domain
    then (migration 0007)."""

    __tablename__ = "urls"
    __table_args__ = (
        Index(
            "ix_urls_domain_only",
            "domain",
            unique=True,
            sqlite_where=literal_column("url IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str | None] = mapped_column(Text, unique=True)
    domain: Mapped[str | None] = mapped_column(Text)


class SpanFlag(enum.IntFlag):
    NONE = 0
    PRIVATE = 1
    TITLE_CUT = 2
    INCOGNITO = 4
    PASSIVE = 8


class Span(Base):
    """Consecutive identical focus samples merged into one interval.

    Kept narrow on purpose: a workday holds thousands of these. The table is
    clustered by start time (no rowid, no second index), which is also how
    reports read it.
    """

    __tablename__ = "spans"
    __table_args__ = ({"sqlite_with_rowid": False},)

    start: Mapped[datetime] = mapped_column("start_ms", UtcMillis, primary_key=True)
    id: Mapped[int] = mapped_column(
        _ClientId, primary_key=True, default=new_id, autoincrement=False
    )
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    end: Mapped[datetime] = mapped_column("end_ms", UtcMillis)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id"))
    title_id: Mapped[int | None] = mapped_column(ForeignKey("titles.id"))
    url_id: Mapped[int | None] = mapped_column(ForeignKey("urls.id"))
    flags: Mapped[int] = mapped_column(Integer, default=0)

    app: Mapped[App | None] = relationship()
    title: Mapped[Title | None] = relationship()
    url: Mapped[Url | None] = relationship()


class Slot(Base):
    """Activity over one fixed wall-clock interval of one entry."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("start_ms", "entry_id"),)

    id: Mapped[int] = _client_id()
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    start: Mapped[datetime] = mapped_column("start_ms", UtcMillis)
    end: Mapped[datetime] = mapped_column("end_ms", UtcMillis)
    tracked_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    active_seconds: Mapped[float | None] = mapped_column(Float)
    keyboard_seconds: Mapped[float | None] = mapped_column(Float)
    mouse_seconds: Mapped[float | None] = mapped_column(Float)
    passive_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    synthetic_flags: Mapped[int] = mapped_column(Integer, default=0)
    # One readable sentence per flag set in synthetic_flags, newline-separated.
    flag_reasons: Mapped[str | None] = mapped_column(Text)


class IdlePeriod(Base):
    """Away time from the last input to the return, and how it was resolved."""

    __tablename__ = "idle_periods"

    id: Mapped[int] = _client_id()
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    start: Mapped[datetime] = mapped_column("start_ms", UtcMillis)
    end: Mapped[datetime | None] = mapped_column("end_ms", UtcMillis)
    cause: Mapped[str] = mapped_column(String(16))  # idle, suspend, lock, clock
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcMillis)
    resolved_by: Mapped[str | None] = mapped_column(String(16))  # worker, policy
    note: Mapped[str | None] = mapped_column(Text)  # the worker's reason
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: the parts applied


class Break(Base):
    """A pause under a break policy; ``end`` is None while it lasts.

    ``allotted_seconds`` is the policy's length when the break began (None
    for breaks recorded after the fact, from an idle answer).
    """

    __tablename__ = "breaks"

    id: Mapped[int] = _client_id()
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    policy: Mapped[str] = mapped_column(String(100))
    paid: Mapped[bool] = mapped_column(Boolean)
    start: Mapped[datetime] = mapped_column("start_ms", UtcMillis)
    end: Mapped[datetime | None] = mapped_column("end_ms", UtcMillis)
    origin: Mapped[str] = mapped_column(String(16))  # taken, reminder, idle, suspend
    allotted_seconds: Mapped[int | None] = mapped_column(Integer)


class Screenshot(Base):
    __tablename__ = "screenshots"

    id: Mapped[int] = _client_id()
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    taken_at: Mapped[datetime] = mapped_column(UtcMillis)
    slot_start: Mapped[datetime] = mapped_column(UtcMillis)
    monitor: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    blurred: Mapped[bool] = mapped_column(Boolean)
    skipped_reason: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[datetime | None] = mapped_column(UtcMillis)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcMillis)
    # The audit of a deletion: "worker" or "policy", and the slot time removed.
    deleted_by: Mapped[str | None] = mapped_column(String(16))
    removed_seconds: Mapped[float | None] = mapped_column(Float)
    # An uploaded image's file removed to keep within the disk budget.
    pruned_at: Mapped[datetime | None] = mapped_column(UtcMillis)


class PolicyRecord(Base):
    """A policy document as received: local defaults or pushed by a server."""

    __tablename__ = "policies"

    id: Mapped[int] = _client_id()
    source: Mapped[str] = mapped_column(String(16))  # local, server
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # JSON
    received_at: Mapped[datetime] = mapped_column(UtcMillis)


class OutboxItem(Base):
    """A record waiting for upload. Removed once the server has it."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "record_id"),
        Index("ix_outbox_next_attempt_ms", "next_attempt_ms"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(
        "next_attempt_ms", UtcMillis
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    quarantined_at: Mapped[datetime | None] = mapped_column(UtcMillis)


# -- rates, budgets, work limits and the value report (migration 0006) --------


class BudgetAlert(Base):
    """A budget threshold the worker was told about: once per period, kept
    here so a restart does not tell again."""

    __tablename__ = "budget_alerts"
    __table_args__ = (UniqueConstraint("budget", "period_start", "threshold"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # project (case-folded) | period | measure, see agent.budgets.Budget.key
    budget: Mapped[str] = mapped_column(String(250))
    # The local date the period starts ("" for a total budget).
    period_start: Mapped[str] = mapped_column(String(10))
    threshold: Mapped[int] = mapped_column(Integer)
    used_percent: Mapped[float] = mapped_column(Float)
    notified_at: Mapped[datetime] = mapped_column(UtcMillis)


class OutsideShift(Base):
    """An entry started outside every shift window, kept as policy allows."""

    __tablename__ = "outside_shift"

    entry_id: Mapped[int] = mapped_column(
        _ClientId, ForeignKey("entries.id"), primary_key=True
    )
    recorded_at: Mapped[datetime] = mapped_column(UtcMillis)
    reason: Mapped[str] = mapped_column(Text)


class ValueBaseline(Base):
    """In-house figures for one kind of task: time per unit and cost per hour.

    ``kind`` is matched against task names, ignoring case (``kind_key``).
    ``cost_per_hour`` is a decimal number as text: money is never a float.
    """

    __tablename__ = "value_baselines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(200))
    minutes_per_unit: Mapped[float] = mapped_column(Float)
    cost_per_hour: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(UtcMillis)


class ValueUnits(Base):
    """Units of a kind of task the outsourced work delivered on a local day."""

    __tablename__ = "value_units"
    __table_args__ = (Index("ix_value_units_kind_key_day", "kind_key", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind_key: Mapped[str] = mapped_column(String(200))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, local
    units: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcMillis)
