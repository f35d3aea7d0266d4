"""Deleting a screenshot from another process while an agent runs.

A running agent holds the open span and the slot's activity in memory; a cut
made under it by another process would be written back over by its next
flush. So ``punchclock screenshots delete`` asks the agent instead, through
the store every process shares (as ``break start`` reaches it):

1. The command writes a request row into the ``meta`` table
   (:data:`REQUEST_PREFIX` + the shot id) and waits.
2. The agent's tick sees the store change (its data version) and calls
   :func:`serve_requests`: each request is taken (its row removed) and done
   by ``Agent.delete_screenshot``, exactly as the notice's Delete button
   does it; the outcome is written back as an answer row
   (:data:`ANSWER_PREFIX` + the id).
3. The command reads and removes the answer (:func:`take_answer`).

Without a running agent the command deletes directly
(:class:`agent.screenshots.ShotDeleter`): nothing is held in memory then.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from agent.errors import PunchclockError, UserError
from agent.screenshots import Deletion
from agent.store import Store
from agent.store.models import Meta

log = logging.getLogger(__name__)

REQUEST_PREFIX = "screenshot_delete_request:"
ANSWER_PREFIX = "screenshot_delete_answer:"
# The key after every request key (":" + 1 is ";"): the range scan's end.
_REQUEST_END = REQUEST_PREFIX[:-1] + ";"

# How long the command waits for a running agent (it ticks once a second).
ANSWER_WAIT_SECONDS = 15.0


@dataclass(frozen=True)
class Answer:
    """What the agent made of a request: the deletion, or why not."""

    shot_ids: tuple[int, ...] = ()
    removed_seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0


def request(store: Store, shot_id: int, now: datetime) -> None:
    """Asks the running agent to delete ``shot_id``; a stale answer goes."""
    with store.write() as session:
        session.execute(delete(Meta).where(Meta.key == ANSWER_PREFIX + str(shot_id)))
        session.merge(Meta(key=REQUEST_PREFIX + str(shot_id), value=now.isoformat()))


def withdraw(store: Store, shot_id: int) -> None:
    """The command gave up waiting: the request is not done later."""
    with store.write() as session:
        session.execute(delete(Meta).where(Meta.key == REQUEST_PREFIX + str(shot_id)))


def take_answer(store: Store, shot_id: int) -> Answer | None:
    """The agent's answer to the request for ``shot_id``, once, or None yet."""
    key = ANSWER_PREFIX + str(shot_id)
    with store.read() as session:
        value = session.scalar(select(Meta.value).where(Meta.key == key))
    if value is None:
        return None
    with store.write() as session:
        session.execute(delete(Meta).where(Meta.key == key))
    data = json.loads(value)
    return Answer(
        shot_ids=tuple(int(i) for i in data.get("ids", ())),
        removed_seconds=float(data.get("removed_seconds", 0.0)),
        error=data.get("error"),
        exit_code=int(data.get("exit_code", 0)),
    )


def wait_for_answer(
    store: Store, shot_id: int, seconds: float = ANSWER_WAIT_SECONDS
) -> Answer:
    """Polls for the answer; raises :class:`UserError` when none comes."""
    deadline = time.monotonic() + seconds
    while True:
        answer = take_answer(store, shot_id)
        if answer is not None:
            return answer
        if time.monotonic() >= deadline:
            withdraw(store, shot_id)
            raise UserError(
                "the running agent did not answer; check it with `punchclock "
                "doctor` and try again, or delete the screenshot in the tray's "
                "notice"
            )
        time.sleep(0.2)


def pending(store: Store) -> list[int]:
    """The shot ids another process asked to delete (an index range scan)."""
    with store.read() as session:
        keys = session.scalars(
            select(Meta.key).where(Meta.key > REQUEST_PREFIX, Meta.key < _REQUEST_END)
        ).all()
    ids = []
    for key in keys:
        try:
            ids.append(int(key.removeprefix(REQUEST_PREFIX)))
        except ValueError:
            log.warning("ignoring a malformed screenshot request %r", key)
    return ids


def serve_requests(store: Store, deleter: Callable[[int], Deletion]) -> int:
    """Does the deletions asked for (the running agent's side); returns how
    many requests were answered."""
    shot_ids = pending(store)
    for shot_id in shot_ids:
        with store.write() as session:
            taken = session.execute(
                delete(Meta).where(Meta.key == REQUEST_PREFIX + str(shot_id))
            )
        if not getattr(taken, "rowcount", 1):
            continue  # withdrawn, or served by another tick
        answer = _answer(shot_id, deleter)
        with store.write() as session:
            session.merge(Meta(key=ANSWER_PREFIX + str(shot_id), value=answer))
    return len(shot_ids)


def _answer(shot_id: int, deleter: Callable[[int], Deletion]) -> str:
    try:
        deletion = deleter(shot_id)
    except PunchclockError as error:
        log.info("screenshot %d not deleted on request: %s", shot_id, error)
        return json.dumps({"error": str(error), "exit_code": error.exit_code})
    log.info("screenshot %d deleted on request from another process", shot_id)
    return json.dumps(
        {"ids": list(deletion.shot_ids), "removed_seconds": deletion.removed_seconds}
    )
