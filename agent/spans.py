"""Turning focus samples into spans in the store.

The focus source calls :meth:`SpanRecorder.on_sample` on its own thread the
moment the focus changes; the recorder only notes the change in memory, so a
slow or locked store never delays the source. The agent's flush job then
writes what changed (:meth:`SpanRecorder.flush`): closed spans in full, and
the open span with its end moved to now, so a crash loses at most one flush
interval.

Spans exist only inside a running entry: when the entry changes, the open
span is closed at the entry's edge and, if a new entry runs, the same focus
starts a new span there.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from agent.clock import Clock
from agent.store import Store
from agent.store.models import App, Span, SpanFlag, Title, Url
from agent.store.outbox import enqueue
from agent.timer import EntryView
from capture.base import FocusSample

log = logging.getLogger(__name__)


@dataclass
class _OpenSpan:
    entry_id: int
    sample: FocusSample
    start: datetime
    end: datetime
    span_id: int | None = None  # set once written


class SpanRecorder:
    """Merges samples into spans of the running entry; thread-safe."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._entry: EntryView | None = None
        self._sample: FocusSample | None = None
        self._open: _OpenSpan | None = None
        self._closed: list[_OpenSpan] = []
        self._ids: dict[tuple[type, str], int] = {}

    def on_sample(self, sample: FocusSample) -> None:
        """A new focus: close the open span at the sample's time, open the next."""
        with self._lock:
            self._sample = sample
            if self._entry is None:
                return
            # What the store keeps again (a source restarted, a repeated
            # event, another window or process of the same app and title, a
            # window going full screen) continues the span rather than
            # splitting it into adjacent spans no one could tell apart.
            if self._open is not None and _stored(sample) == _stored(self._open.sample):
                return
            self._close_open(sample.at)
            self._open_span(sample, sample.at)

    def on_entry(self, entry: EntryView | None, edge: datetime) -> None:
        """The running entry changed (started, switched, stopped, split).

        ``edge`` is where the previous entry ended: the open span ends there.
        """
        with self._lock:
            previous, self._entry = self._entry, entry
            if previous is not None and entry is not None and previous.id == entry.id:
                return
            self._close_open(edge)
            if entry is not None and self._sample is not None:
                self._open_span(self._sample, max(entry.start, self._sample.at))

    def flush(self) -> int:
        """Write closed spans and the open one's progress; returns spans written."""
        with self._lock:
            closed, self._closed = self._closed, []
            current = self._open
            if current is not None:
                current.end = max(self._clock.now(), current.start)
                current = replace(current)

        pending = closed + ([current] if current is not None else [])
        if not pending:
            return 0
        try:
            written = self._write(pending, closing=len(closed))
        except Exception:
            with self._lock:
                self._closed = closed + self._closed
            raise
        if current is not None:
            self._remember_id(current, written[-1])
        return len(pending)

    def _open_span(self, sample: FocusSample, start: datetime) -> None:
        if self._entry is None or not sample.focused:
            self._open = None
            return
        self._open = _OpenSpan(self._entry.id, sample, start, start)

    def _close_open(self, end: datetime) -> None:
        span, self._open = self._open, None
        if span is None:
            return
        span.end = max(end, span.start)
        if span.end > span.start:
            self._closed.append(span)

    def _remember_id(self, written: _OpenSpan, span_id: int) -> None:
        with self._lock:
            if self._open is not None and self._open.start == written.start:
                self._open.span_id = span_id
            for span in self._closed:
                if span.start == written.start and span.entry_id == written.entry_id:
                    span.span_id = span_id

    def _write(self, spans: list[_OpenSpan], closing: int) -> list[int]:
        now = self._clock.now()
        ids: list[int] = []
        try:
            with self._store.write() as session:
                for index, span in enumerate(spans):
                    row = self._row(session, span)
                    ids.append(row.id)
                    if index < closing:
                        enqueue(session, "span", row.id, now)
        except Exception:
            # Ids interned in the rolled-back transaction are gone too.
            self._ids.clear()
            raise
        return ids

    def _row(self, session: Session, span: _OpenSpan) -> Span:
        row = None
        if span.span_id is not None:
            row = session.get(Span, (span.start, span.span_id))
        if row is None:
            sample = span.sample
            row = Span(
                entry_id=span.entry_id,
                start=span.start,
                end=span.end,
                app_id=self._intern(session, App, "name", sample.app),
                title_id=self._intern(session, Title, "text", sample.title),
                url_id=self._url_id(session, sample),
                flags=_flags(sample),
            )
            session.add(row)
            session.flush()
        else:
            row.end = span.end
        return row

    def _url_id(self, session: Session, sample: FocusSample) -> int | None:
        """The page's row: by URL, or by domain alone where the sample has
        no URL (the host in a browser's window title)."""
        if sample.url:
            return self._page_id(session, sample.url, sample.domain)
        if sample.domain:
            return self._page_id(session, None, sample.domain)
        return None

    def _page_id(self, session: Session, url: str | None, domain: str | None) -> int:
        key = (Url, url) if url is not None else (_DomainOnly, domain or "")
        if key not in self._ids:
            statement = insert(Url).values(url=url, domain=domain)
            if url is not None:
                found = select(Url.id).where(Url.url == url)
                statement = statement.on_conflict_do_nothing(index_elements=["url"])
            else:
                found = select(Url.id).where(Url.url.is_(None), Url.domain == domain)
                statement = statement.on_conflict_do_nothing(
                    index_elements=["domain"], index_where=Url.url.is_(None)
                )
            session.execute(statement)
            self._ids[key] = session.scalars(found).one()
        return self._ids[key]

    def _intern(
        self, session: Session, model: type[App | Title], column: str, value: str | None
    ) -> int | None:
        if not value:
            return None
        key = (model, value)
        if key not in self._ids:
            table = cast(Table, model.__table__)
            session.execute(
                insert(table).values({column: value}).on_conflict_do_nothing()
            )
            self._ids[key] = session.scalars(
                select(table.c.id).where(table.c[column] == value)
            ).one()
        return self._ids[key]


class _DomainOnly:
    """Marks a domain-only page in the recorder's cache of interned ids."""


def _stored(sample: FocusSample) -> tuple[object, ...]:
    """What a span row keeps of ``sample`` (see :meth:`SpanRecorder._row`):
    not its window, process or full-screen flag. A page is its URL, or its
    domain alone where there is no URL."""
    page = ("url", sample.url) if sample.url else ("domain", sample.domain or None)
    return (sample.app or None, sample.title or None, page, _flags(sample))


def _flags(sample: FocusSample) -> int:
    flags = SpanFlag.NONE
    if sample.private:
        flags |= SpanFlag.PRIVATE
    if sample.title_cut:
        flags |= SpanFlag.TITLE_CUT
    if sample.incognito:
        flags |= SpanFlag.INCOGNITO
    return int(flags)
