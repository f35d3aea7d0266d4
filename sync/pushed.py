"""What the server pushes: the organisation's policy and the assigned projects.

With each upload, before the records go, the agent fetches both from a
protocol v1 server (ActivityWatch has neither), so that projects it adds or
archives go up in the same run:

- the policy is kept as JSON beside the settings file
  (:func:`agent.policy.save_server_policy`); :func:`agent.policy.load_effective`
  lays it over the worker's settings, so the server's value wins where it
  sets a key and the local one applies where it is silent. A running agent
  notices the file change and applies it without a restart;
- the projects and tasks are upserted into the store: a new one is added, an
  archived one offered again, and one the server assigned before but no
  longer lists is archived (kept for reports, no longer offered). Projects
  the worker made on their own are left alone. With each project the server
  may send what the other agents recorded on it (``usage``,
  ``sync/server/usage.py``); it is kept for shared budgets
  (:func:`agent.budgets.save_others_usage`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.budgets import save_others_usage
from agent.clock import Clock
from agent.errors import UserError
from agent.names import fold
from agent.paths import Paths
from agent.policy import save_server_policy
from agent.projects import clean_name, folded
from agent.store import Store
from agent.store.models import Meta, Project, Task
from agent.store.outbox import enqueue
from sync.errors import ProtocolError

log = logging.getLogger(__name__)

ASSIGNED_KEY = "server_projects"
"""Meta row: the projects and tasks the server last assigned, as JSON."""
MAX_PROJECTS = 5000
MAX_TASKS = 1000


@runtime_checkable
class PushingTarget(Protocol):
    """A target that pushes a policy and projects (protocol v1)."""

    def fetch_policy(self) -> dict[str, Any] | None: ...

    def fetch_projects(self) -> list[dict[str, Any]]: ...


@dataclass
class Pushed:
    """What one refresh changed here."""

    policy_changed: bool = False
    added: list[str] = field(default_factory=list)
    offered_again: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.policy_changed or self.added or self.offered_again or self.archived
        )


def refresh(target: object, paths: Paths, store: Store, clock: Clock) -> Pushed | None:
    """Fetch and apply the policy and projects; None for a target that pushes
    neither. Raises the target's :class:`~sync.errors.SyncError` on failure."""
    if not isinstance(target, PushingTarget):
        return None
    policy = target.fetch_policy()
    projects = target.fetch_projects()
    assigned = parse_projects(projects)
    usage = parse_usage(projects)

    pushed = Pushed(policy_changed=save_server_policy(paths, policy))
    apply_projects(store, clock.now(), assigned, pushed, usage)
    if pushed.changed:
        log.info(
            "from the server: policy %s; projects added %s, offered again %s, "
            "archived %s",
            "changed" if pushed.policy_changed else "unchanged",
            pushed.added,
            pushed.offered_again,
            pushed.archived,
        )
    return pushed


def parse_projects(projects: list[Any]) -> dict[str, list[str]]:
    """The server's list as {project name: [task names]}; ProtocolError when
    it is not a list of projects. A bad name is refused with the reason."""
    if len(projects) > MAX_PROJECTS:
        raise ProtocolError(f"more than {MAX_PROJECTS} projects assigned")
    assigned: dict[str, list[str]] = {}
    for item in projects:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ProtocolError("a project is an object with a name")
        tasks = item.get("tasks", [])
        if not isinstance(tasks, list) or len(tasks) > MAX_TASKS:
            raise ProtocolError(f"project {item['name'][:40]!r}: tasks is not a list")
        try:
            name = clean_name(item["name"], "project")
            names = [clean_name(_task_name(task), "task") for task in tasks]
        except UserError as error:
            raise ProtocolError(f"an assigned project is unusable: {error}") from error
        assigned.setdefault(name, [])
        for task in names:
            if fold(task) not in {fold(t) for t in assigned[name]}:
                assigned[name].append(task)
    return assigned


def parse_usage(projects: list[Any]) -> dict[str, dict[str, Any]]:
    """The other agents' usage per project (case-folded name), from the
    projects that carry one; ProtocolError when one is malformed."""
    usage: dict[str, dict[str, Any]] = {}
    for item in projects:
        if not isinstance(item, dict) or "usage" not in item:
            continue
        name = fold(" ".join(str(item.get("name", "")).split()))
        raw = item["usage"]
        if not (
            isinstance(raw, dict)
            and _ints(raw.get("before"), 3)
            and isinstance(raw.get("before_ms"), int)
            and isinstance(raw.get("hours"), list)
            and all(_ints(row, 4) for row in raw["hours"])
        ):
            raise ProtocolError(f"project {name[:40]!r}: its usage is malformed")
        usage[name] = {
            "hours": raw["hours"],
            "before_ms": raw["before_ms"],
            "before": raw["before"],
        }
    return usage


def _ints(value: object, length: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == length
        and all(isinstance(n, int) and not isinstance(n, bool) for n in value)
    )


def _task_name(task: object) -> str:
    if isinstance(task, str):
        return task
    if isinstance(task, dict) and isinstance(task.get("name"), str):
        return str(task["name"])
    raise ProtocolError("a task is a name or an object with a name")


def apply_projects(
    store: Store,
    now: datetime,
    assigned: dict[str, list[str]],
    pushed: Pushed,
    usage: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Upsert ``assigned`` and archive what the server assigned before and
    no longer lists, and keep the others' ``usage``; one write transaction."""
    with store.write() as session:
        save_others_usage(session, usage or {})
        before = _assigned_before(session)
        for name, tasks in assigned.items():
            project = _upsert_project(session, name, now, pushed)
            for task in tasks:
                _upsert_task(session, project, task, now, pushed)
            listed = {fold(task) for task in tasks}
            for task in before.get(fold(name), {}).get("tasks", []):
                if fold(task) not in listed:
                    _archive_task(session, project, task, now, pushed)

        listed_projects = {fold(name) for name in assigned}
        for key, old in before.items():
            if key not in listed_projects:
                _archive_project(session, old["name"], now, pushed)

        value = {
            fold(name): {"name": name, "tasks": tasks}
            for name, tasks in assigned.items()
        }
        session.merge(Meta(key=ASSIGNED_KEY, value=json.dumps(value)))


def _assigned_before(session: Session) -> dict[str, dict[str, Any]]:
    raw = session.scalar(select(Meta.value).where(Meta.key == ASSIGNED_KEY))
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        log.warning("the record of server-assigned projects is unreadable; reset")
        return {}
    return value if isinstance(value, dict) else {}


def _find_project(session: Session, name: str) -> Project | None:
    query = select(Project).where(folded(Project.name) == fold(name))
    return session.scalars(query).first()


def _find_task(session: Session, project: Project, name: str) -> Task | None:
    query = select(Task).where(
        Task.project_id == project.id, folded(Task.name) == fold(name)
    )
    return session.scalars(query).first()


def _upsert_project(
    session: Session, name: str, now: datetime, pushed: Pushed
) -> Project:
    project = _find_project(session, name)
    if project is None:
        project = Project(name=name, created_at=now)
        session.add(project)
        session.flush()
        enqueue(session, "project", project.id, now)
        pushed.added.append(name)
    elif project.archived_at is not None:
        project.archived_at = None
        enqueue(session, "project", project.id, now)
        pushed.offered_again.append(project.name)
    return project


def _upsert_task(
    session: Session, project: Project, name: str, now: datetime, pushed: Pushed
) -> None:
    task = _find_task(session, project, name)
    what = f"{project.name} / {name}"
    if task is None:
        task = Task(project_id=project.id, name=name, created_at=now)
        session.add(task)
        session.flush()
        enqueue(session, "task", task.id, now)
        pushed.added.append(what)
    elif task.archived_at is not None:
        task.archived_at = None
        enqueue(session, "task", task.id, now)
        pushed.offered_again.append(f"{project.name} / {task.name}")


def _archive_task(
    session: Session, project: Project, name: str, now: datetime, pushed: Pushed
) -> None:
    task = _find_task(session, project, name)
    if task is not None and task.archived_at is None:
        task.archived_at = now
        enqueue(session, "task", task.id, now)
        pushed.archived.append(f"{project.name} / {task.name}")


def _archive_project(
    session: Session, name: str, now: datetime, pushed: Pushed
) -> None:
    project = _find_project(session, name)
    if project is not None and project.archived_at is None:
        project.archived_at = now
        enqueue(session, "project", project.id, now)
        pushed.archived.append(project.name)
