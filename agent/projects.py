"""Projects and their tasks: what entries are clocked on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent.clock import Clock
from agent.errors import ConflictError, NotFoundError, UserError
from agent.names import SQL_FOLD, clean_text, fold
from agent.store import Store
from agent.store.models import Project, Task
from agent.store.outbox import enqueue

log = logging.getLogger(__name__)

MAX_NAME = 200


@dataclass(frozen=True)
class TaskView:
    id: int
    name: str
    archived: bool


@dataclass(frozen=True)
class ProjectView:
    id: int
    name: str
    archived: bool
    tasks: tuple[TaskView, ...]


class Projects:
    """Adds, lists and archives projects and tasks."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def all(self, *, include_archived: bool = False) -> list[ProjectView]:
        with self._store.read() as session:
            query = select(Project).order_by(folded(Project.name))
            if not include_archived:
                query = query.where(Project.archived_at.is_(None))
            return [
                _view(project, include_archived) for project in session.scalars(query)
            ]

    def add(self, name: str, tasks: list[str] | None = None) -> ProjectView:
        """Add a project (or, when it exists, just the tasks that are new)."""
        name = clean_name(name, "project")
        task_names = [clean_name(task, "task") for task in tasks or []]
        try:
            return self._add(name, task_names)
        except IntegrityError as error:
            # The lookups fold case like the store's unique names; this is
            # a name the lookup could not see (another process won a race).
            log.info("adding project %r: %s", name, error)
            raise ConflictError(
                f"a project or task named {name!r} exists already; see "
                "`punchclock projects list`"
            ) from error

    def _add(self, name: str, task_names: list[str]) -> ProjectView:
        now = self._clock.now()
        with self._store.write() as session:
            project = lookup_project(session, name)
            if project is None:
                project = Project(name=name, created_at=now)
                session.add(project)
                session.flush()
                enqueue(session, "project", project.id, now)
                log.info("project %r added", name)
            elif not task_names:
                raise ConflictError(f"a project named {project.name!r} exists already")
            for task_name in task_names:
                self._add_task(session, project, task_name, now)
            session.flush()
            session.refresh(project)
            return _view(project, include_archived=True)

    def archive(self, name: str, task: str | None = None) -> None:
        """Archive a project or one of its tasks: kept for reports, not offered."""
        now = self._clock.now()
        with self._store.write() as session:
            project = find_project(session, name)
            target: Project | Task = project
            if task is not None:
                target = find_task(session, project, task)
            target.archived_at = now
            kind = "task" if task is not None else "project"
            enqueue(session, kind, target.id, now)
            log.info("%s %r archived", kind, target.name)

    def unarchive(self, name: str, task: str | None = None) -> None:
        """Offer an archived project or task again; its history is untouched."""
        now = self._clock.now()
        with self._store.write() as session:
            project = find_project(session, name)
            target: Project | Task = project
            if task is not None:
                target = find_task(session, project, task)
            kind = "task" if task is not None else "project"
            if target.archived_at is None:
                raise UserError(f"{kind} {target.name!r} is not archived")
            target.archived_at = None
            enqueue(session, kind, target.id, now)
            log.info("%s %r unarchived", kind, target.name)

    def _add_task(
        self, session: Session, project: Project, name: str, now: datetime
    ) -> None:
        if lookup_task(session, project, name) is not None:
            raise ConflictError(
                f"project {project.name!r} already has a task named {name!r}"
            )
        task = Task(project_id=project.id, name=name, created_at=now)
        session.add(task)
        session.flush()
        enqueue(session, "task", task.id, now)
        log.info("task %r added to project %r", name, project.name)


def clean_name(name: str, what: str) -> str:
    """``name`` as stored: NFC, no controls, whitespace runs as one space."""
    cleaned = " ".join(clean_text(name, f"{what} name").split())
    if not cleaned:
        raise UserError(f"a {what} name cannot be empty")
    if len(cleaned) > MAX_NAME:
        raise UserError(f"a {what} name is at most {MAX_NAME} characters")
    return cleaned


def lookup_project(session: Session, name: str) -> Project | None:
    """The project of that name, compared case-insensitively, if there is one."""
    wanted = fold(clean_name(name, "project"))
    query = select(Project).where(folded(Project.name) == wanted)
    return session.scalars(query).first()


def find_project(session: Session, name: str) -> Project:
    """The project of that name; :class:`NotFoundError` says how to add it."""
    project = lookup_project(session, name)
    if project is None:
        raise NotFoundError(
            f"no project named {name!r}; see `punchclock projects list`, "
            f"or add it with `punchclock projects add {_quote(name)}`"
        )
    return project


def lookup_task(session: Session, project: Project, name: str) -> Task | None:
    query = select(Task).where(
        Task.project_id == project.id,
        folded(Task.name) == fold(clean_name(name, "task")),
    )
    return session.scalars(query).first()


def find_task(session: Session, project: Project, name: str) -> Task:
    """The project's task of that name; :class:`NotFoundError` says how to add it."""
    task = lookup_task(session, project, name)
    if task is None:
        raise NotFoundError(
            f"project {project.name!r} has no task named {name!r}; add it with "
            f"`punchclock projects add {_quote(project.name)} --task {_quote(name)}`"
        )
    return task


def find_open_task(
    session: Session, project_name: str, task_name: str | None
) -> tuple[Project, Task | None]:
    """The project and task to book time on; archived ones are refused.

    The message says how to offer them again, so an old name typed from
    memory does not silently revive a closed project.
    """
    project = find_project(session, project_name)
    if project.archived_at is not None:
        raise UserError(
            f"project {project.name!r} is archived; pick another one, or offer it "
            f"again with `punchclock projects unarchive {_quote(project.name)}`"
        )
    if not task_name:
        return project, None

    task = find_task(session, project, task_name)
    if task.archived_at is not None:
        raise UserError(
            f"task {task.name!r} of project {project.name!r} is archived; pick "
            "another one, or offer it again with `punchclock projects unarchive "
            f"{_quote(project.name)} --task {_quote(task.name)}`"
        )
    return project, task


def folded(column: Any) -> Any:
    """``column`` case-folded in SQL, the way :func:`agent.names.fold` does."""
    return getattr(func, SQL_FOLD)(column)


def _quote(text: str) -> str:
    return f'"{text}"' if " " in text else text


def _view(project: Project, include_archived: bool) -> ProjectView:
    tasks = tuple(
        TaskView(task.id, task.name, task.archived_at is not None)
        for task in project.tasks
        if include_archived or task.archived_at is None
    )
    return ProjectView(project.id, project.name, project.archived_at is not None, tasks)
