"""The worker's settings: defaults shipped with the code, overrides in TOML.

``resources/defaults.toml`` is the single source of the default values and
documents every key. The worker's own ``settings.toml`` (see
:attr:`agent.paths.Paths.settings_file`) holds only what differs, key by key,
and carries a ``version``.

Loading never fails and never writes: a file that cannot be read or parsed
gives one message naming the file and the line, and the defaults are used; a
wrong value gives a message naming the key, the value and the default used
instead, and the other keys still apply. The caller shows or logs the
problems once logging is configured (logging itself is configured from these
settings).

To add a setting: add the field to its section's dataclass and the key, with
a comment, to ``defaults.toml``; a test checks the two agree. A new section is
a new frozen dataclass and a field of :class:`Settings`. Renaming or
re-meaning a key bumps :data:`SCHEMA_VERSION` and gets a migration step.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import functools
import itertools
import json
import logging
import re
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import (
    Annotated,
    Any,
    Literal,
    TypeGuard,
    get_args,
    get_origin,
    get_type_hints,
)
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.paths import FILE_MODE, Paths, ensure_private_dir, write_private

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

Weekday = Literal[
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
]
TitleLevel = Literal["full", "app-only", "domain-only"]
PrivateAppName = Literal["keep", "hide"]
NoAnswer = Literal["keep", "discard", "ask"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
SyncTarget = Literal["punchclock", "activitywatch"]
ImageFormat = Literal["jpeg", "webp"]
BreakRule = Literal["any", "once", "every", "after"]

# Values are cut to this many characters in messages: a hostile file must
# not flood the log or the terminal.
_SHOWN_CHARS = 60


class SettingsError(Exception):
    """Settings cannot be used as given: broken defaults, an invalid value to
    save, or a settings file that cannot be written."""


class _InvalidValue(Exception):
    """A value of the wrong type or out of range; the message says why."""


@dataclass(frozen=True)
class Range:
    """Annotates an int setting with the inclusive limits of its value."""

    minimum: int
    maximum: int


@dataclass(frozen=True)
class Valid:
    """Annotates a setting with a test that returns why a value is wrong."""

    test: Callable[[Any], str | None]


@dataclass(frozen=True)
class OnInvalid:
    """Annotates a privacy setting with the value a wrong one falls back to.

    A typo must never widen what is collected: a wrong title level falls back
    to the most private level, not to the default.
    """

    value: Any
    why: str


def _check_time_zone(name: str) -> str | None:
    if not name:
        return None

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return 'is not a known time zone (e.g. "Europe/Berlin", or "" for local)'
    return None


def _check_server_url(url: str) -> str | None:
    if not url:
        return None

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http:// or https:// address"
    return None


@dataclass(frozen=True)
class GeneralSettings:
    time_zone: Annotated[str, Valid(_check_time_zone)]
    week_start: Weekday


@dataclass(frozen=True)
class TimerSettings:
    # At most 5: the product promises no more than 5 s lost per crash (R1).
    flush_seconds: Annotated[int, Range(1, 5)]


@dataclass(frozen=True)
class IdleSettings:
    threshold_minutes: Annotated[int, Range(1, 240)]
    no_answer: NoAnswer
    answer_minutes: Annotated[int, Range(1, 1440)]
    keep_needs_reason: bool
    break_policy: str
    break_paid: bool
    passive_apps: tuple[str, ...]


def _check_slot_minutes(minutes: int) -> str | None:
    if 60 % minutes:
        return (
            "does not divide the hour (use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)"
        )
    return None


@dataclass(frozen=True)
class ActivitySettings:
    slot_minutes: Annotated[int, Range(1, 60), Valid(_check_slot_minutes)]
    regular_mouse_minutes: Annotated[int, Range(5, 240)]
    single_device_hours: Annotated[int, Range(1, 12)]
    jiggler_check_seconds: Annotated[int, Range(10, 3600)]


def _check_title_patterns(patterns: tuple[str, ...]) -> str | None:
    if any(not pattern.strip() for pattern in patterns):
        return 'has an empty pattern; remove it, or write one like "*bank*"'
    return None


# A key is sent in an HTTP header: printable ASCII without spaces.
_RECEIVER_KEY = re.compile(r"[!-~]{16,256}")


def _check_receiver_key(key: str) -> str | None:
    if not key or _RECEIVER_KEY.fullmatch(key):
        return None
    return (
        "is not 16 to 256 letters, digits or punctuation without spaces"
        ' (e.g. the output of "openssl rand -hex 16"; "" for none)'
    )


@dataclass(frozen=True)
class CaptureSettings:
    focus_enabled: bool
    input_enabled: bool
    screenshots_enabled: bool
    title_level: Annotated[
        TitleLevel, OnInvalid("app-only", "the most private level, to be safe")
    ]
    private_apps: tuple[str, ...]
    private_titles: Annotated[tuple[str, ...], Valid(_check_title_patterns)]
    private_app_name: Annotated[
        PrivateAppName, OnInvalid("hide", "the more private choice, to be safe")
    ]
    browser_receiver_port: Annotated[int, Range(1024, 65535)]
    browser_receiver_key: Annotated[str, Valid(_check_receiver_key)]


@dataclass(frozen=True)
class ScreenshotSettings:
    per_slot: Annotated[int, Range(0, 3)]
    width: Annotated[int, Range(320, 7680)]
    format: ImageFormat
    quality: Annotated[int, Range(10, 95)]
    thumbnail_width: Annotated[int, Range(64, 640)]
    blur: bool
    grace_seconds: Annotated[int, Range(0, 3600)]
    delete_removes_time: bool
    disk_budget_mb: Annotated[int, Range(10, 1_000_000)]


@dataclass(frozen=True)
class SyncSettings:
    server_url: Annotated[str, Valid(_check_server_url)]
    batch_size: Annotated[int, Range(1, 10_000)]
    batch_bytes: Annotated[int, Range(4096, 8 * 1024 * 1024)]
    target: SyncTarget
    allow_insecure_http: bool


def _check_name(name: str) -> str | None:
    return None if name.strip() else "is empty"


def _check_hours(hours: float) -> str | None:
    return None if 0 <= hours <= 24 else "is not between 0 and 24"


@dataclass(frozen=True)
class BreakPolicySettings:
    """One ``[[breaks.policy]]`` table; keys left out take these defaults.

    ``rule`` with ``hours`` (see ``defaults.toml``): "any" time; "once" per
    work session, after ``hours`` of work in it; at most once "every"
    ``hours``; "after" every ``hours`` of work.
    """

    name: Annotated[str, Valid(_check_name)]
    paid: bool = False
    minutes: Annotated[int, Range(1, 480)] = 15
    rule: BreakRule = "any"
    hours: Annotated[float, Valid(_check_hours)] = 0.0


def _check_break_policies(policies: tuple[BreakPolicySettings, ...]) -> str | None:
    names = [policy.name.strip().casefold() for policy in policies]
    if len(set(names)) != len(names):
        return "names two break policies alike"
    for policy in policies:
        if policy.rule in ("every", "after") and policy.hours <= 0:
            return f'has policy "{policy.name}" with rule "{policy.rule}" but no hours'
    return None


@dataclass(frozen=True)
class BreakSettings:
    policy: Annotated[tuple[BreakPolicySettings, ...], Valid(_check_break_policies)]
    session_gap_minutes: Annotated[int, Range(5, 1440)]


@dataclass(frozen=True)
class ReminderSettings:
    micro_enabled: bool
    micro_every_minutes: Annotated[int, Range(1, 240)]
    micro_seconds: Annotated[int, Range(5, 600)]
    rest_enabled: bool
    rest_every_minutes: Annotated[int, Range(5, 480)]
    rest_minutes: Annotated[int, Range(1, 60)]
    postpone_limit: Annotated[int, Range(0, 20)]
    postpone_minutes: Annotated[int, Range(1, 60)]
    skip_allowed: bool
    paid: bool
    hold_apps: tuple[str, ...]


# -- rates, budgets and work limits (agent/rates.py, budgets.py, limits.py) --

RateKind = Literal["pay", "bill"]
Costed = Literal["none", "pay", "pay-and-bill"]
BudgetPeriod = Literal["total", "week", "month"]
BudgetBasis = Literal["bill", "pay"]
OverBudget = Literal["continue", "stop"]
OutsideShift = Literal["refuse", "record"]
_WEEKDAYS: tuple[str, ...] = get_args(Weekday)


def _check_currency(code: str) -> str | None:
    if code == "" or re.fullmatch(r"[A-Z]{3}", code):
        return None
    return 'is not a three-letter currency code in capitals, like "EUR"'


def _check_amount(amount: float) -> str | None:
    return None if 0 <= amount < 1e9 else "is not an amount from 0"


def _check_iso_date(text: str) -> str | None:
    if not text:
        return None
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return 'is not a date written YYYY-MM-DD (or "" for always)'
    return None


def _check_clock_time(text: str) -> str | None:
    if re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", text):
        return None
    return 'is not a time of day written HH:MM, like "09:00"'


def _check_weekdays(days: tuple[str, ...]) -> str | None:
    wrong = [day for day in days if day.casefold() not in _WEEKDAYS]
    if wrong:
        return f'has "{_shorten(wrong[0])}", which is not "monday" ... "sunday"'
    return None if days else "names no day"


def _check_percentages(values: tuple[int, ...]) -> str | None:
    if not all(1 <= value <= 1000 for value in values):
        return "has a threshold that is not between 1 and 1000 (per cent)"
    return None


@dataclass(frozen=True)
class RateSettings:
    """One ``[[rates.rate]]`` table: an hourly amount for a scope, from a date."""

    amount: Annotated[float, Valid(_check_amount)]
    kind: RateKind = "pay"
    currency: Annotated[str, Valid(_check_currency)] = ""
    project: str = ""
    task: str = ""
    effective_from: Annotated[str, Valid(_check_iso_date)] = ""


def _check_rates(rates: tuple[RateSettings, ...]) -> str | None:
    seen: set[tuple[str, ...]] = set()
    for number, rate in enumerate(rates, 1):
        if rate.task.strip() and not rate.project.strip():
            return f"has rate {number} with a task but no project; name the project"
        key = (
            rate.kind,
            rate.project.strip().casefold(),
            rate.task.strip().casefold(),
            rate.effective_from,
        )
        if key in seen:
            return (
                f"has rate {number} like an earlier one (same kind, project, task "
                "and effective_from); a rate change is a new rate from a later date"
            )
        seen.add(key)
    return None


@dataclass(frozen=True)
class RatesSettings:
    currency: Annotated[str, Valid(_check_currency)]
    rate: Annotated[tuple[RateSettings, ...], Valid(_check_rates)]
    paid_breaks: Costed
    kept_idle: Costed


@dataclass(frozen=True)
class BudgetSettings:
    """One ``[[budgets.budget]]`` table: hours or money for a project."""

    project: Annotated[str, Valid(_check_name)]
    hours: Annotated[float, Valid(_check_amount)] = 0.0
    amount: Annotated[float, Valid(_check_amount)] = 0.0
    currency: Annotated[str, Valid(_check_currency)] = ""
    period: BudgetPeriod = "total"
    basis: BudgetBasis = "bill"
    thresholds: Annotated[tuple[int, ...], Valid(_check_percentages)] = (80, 100)


def _check_budgets(budgets: tuple[BudgetSettings, ...]) -> str | None:
    seen: set[tuple[str, str, bool]] = set()
    for number, budget in enumerate(budgets, 1):
        if (budget.hours > 0) == (budget.amount > 0):
            return f"has budget {number} without exactly one of hours or amount"
        key = (budget.project.strip().casefold(), budget.period, budget.hours > 0)
        if key in seen:
            return f"has budget {number} like an earlier one for that project"
        seen.add(key)
    return None


@dataclass(frozen=True)
class BudgetsSettings:
    budget: Annotated[tuple[BudgetSettings, ...], Valid(_check_budgets)]
    over_budget: OverBudget


@dataclass(frozen=True)
class ShiftSettings:
    """One ``[[limits.shift]]`` table; an end at or before the start is the
    next day's."""

    days: Annotated[tuple[str, ...], Valid(_check_weekdays)]
    start: Annotated[str, Valid(_check_clock_time)] = "09:00"
    end: Annotated[str, Valid(_check_clock_time)] = "17:00"


def _check_day_hours(hours: float) -> str | None:
    return None if 0 <= hours <= 24 else "is not between 0 and 24 (0 = no cap)"


def _check_week_hours(hours: float) -> str | None:
    return None if 0 <= hours <= 168 else "is not between 0 and 168 (0 = no cap)"


@dataclass(frozen=True)
class LimitSettings:
    daily_hours: Annotated[float, Valid(_check_day_hours)]
    weekly_hours: Annotated[float, Valid(_check_week_hours)]
    shift: tuple[ShiftSettings, ...]
    outside_shift: OutsideShift


@dataclass(frozen=True)
class LoggingSettings:
    level: LogLevel


@dataclass(frozen=True)
class TraySettings:
    """The tray app's choices, for a policy to set and lock. The worker's own
    choices live in the tray app's preferences (``ui/preferences.py``); a
    value here is used only where a policy sets it."""

    notifications: bool
    screenshot_notifications: bool
    autostart: bool
    global_shortcut: str


@dataclass(frozen=True)
class ConsentSettings:
    # True: the timer does not start until the worker consents to capture.
    capture_required: bool


@dataclass(frozen=True)
class Settings:
    """All settings; one field per ``[section]`` of the file."""

    general: GeneralSettings
    timer: TimerSettings
    idle: IdleSettings
    capture: CaptureSettings
    screenshots: ScreenshotSettings
    activity: ActivitySettings
    sync: SyncSettings
    breaks: BreakSettings
    reminders: ReminderSettings
    logging: LoggingSettings
    rates: RatesSettings
    budgets: BudgetsSettings
    limits: LimitSettings
    tray: TraySettings
    consent: ConsentSettings


@dataclass(frozen=True)
class LoadResult:
    """The settings to use, and what was wrong with the file, for the worker."""

    settings: Settings
    problems: list[str]


def load_settings(paths: Paths) -> LoadResult:
    """The defaults overridden by the worker's settings file, if there is one."""
    defaults = default_settings()
    path = paths.settings_file

    raw, problems = _read_file(path)
    if raw is None:
        return LoadResult(defaults, problems)

    settings = _apply_file(defaults, raw, path, problems)
    log.debug("settings read from %s with %d problem(s)", path, len(problems))
    return LoadResult(settings, problems)


@functools.cache
def default_settings() -> Settings:
    """The defaults shipped in ``resources/defaults.toml``."""
    source = resources.files("resources").joinpath("defaults.toml")
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"the shipped defaults.toml is unusable: {exc}") from exc

    return _parse_defaults(raw)


def save_settings(paths: Paths, settings: Settings) -> Path | None:
    """Write the keys of ``settings`` that differ from the defaults, atomically.

    Returns where the previous file was kept aside, or None. It is kept aside
    when loading it reported problems (invalid TOML, unknown or newer keys,
    bad values): writing only what this version understood would lose them.
    Raises :class:`SettingsError` for an invalid value or a failed write.
    """
    data = settings_to_toml(settings).encode("utf-8")
    path = paths.settings_file

    try:
        ensure_private_dir(path.parent)
        kept = _keep_aside_if_lossy(path)
        write_private(path, data)
    except OSError as exc:
        raise SettingsError(f"could not write the settings to {path}: {exc}") from exc

    log.info("settings saved to %s", path)
    return kept


def settings_to_toml(settings: Settings) -> str:
    """The TOML text holding ``version`` and the keys that differ from defaults."""
    defaults = default_settings()
    lines = [
        "# Punchclock settings: only the values that differ from the defaults.",
        f"version = {SCHEMA_VERSION}",
    ]

    for name in _section_names():
        changed = _changed_keys(getattr(settings, name), getattr(defaults, name))
        if changed:
            lines += ["", f"[{name}]"]
            lines += [f"{key} = {_toml_value(value)}" for key, value in changed]
    return "\n".join(lines) + "\n"


# -- reading ------------------------------------------------------------------


def _read_file(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The parsed file, or None and at most one message saying why not."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return None, [f"{path} could not be read ({reason}); using the defaults."]

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [_unreadable(path, line, "it is not UTF-8 text", "")]

    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        return None, [_syntax_error(path, text, exc)]


def _syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> str:
    """One message naming the file, the line and its text."""
    message = str(exc)
    match = re.search(r"\s*\(at line (\d+), column \d+\)$", message)
    if match is None:
        return _unreadable(path, None, f"it is not valid TOML: {message}", "")

    line = int(match.group(1))
    reason = message[: match.start()]
    lines = text.splitlines()
    excerpt = f": {_shorten(lines[line - 1].strip())!r}" if line <= len(lines) else ""
    return _unreadable(path, line, f"it is not valid TOML ({reason})", excerpt)


def _unreadable(path: Path, line: int | None, reason: str, excerpt: str) -> str:
    where = f"{path}, line {line}" if line else str(path)
    fix = f"correct line {line}" if line else "correct it"
    return (
        f"{where}: {reason}{excerpt}. Punchclock is using the default settings"
        f" and has left the file as it is; {fix}, or move the file away to"
        " start from the defaults."
    )


def read_toml(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """A settings-shaped TOML file (a policy file, say), or None and why not."""
    return _read_file(path)


def apply_layer(
    base: Settings, raw: dict[str, Any], path: Path, problems: list[str]
) -> tuple[Settings, set[str]]:
    """``base`` with every valid key of ``raw`` applied, and those keys.

    The keys come back as ``section.key``; a policy locks them.
    """
    applied: set[str] = set()
    return _apply_file(base, dict(raw), path, problems, applied), applied


def _apply_file(
    defaults: Settings,
    raw: dict[str, Any],
    path: Path,
    problems: list[str],
    applied: set[str] | None = None,
) -> Settings:
    """``defaults`` with every valid key of ``raw`` applied."""
    version = _file_version(raw.pop("version", SCHEMA_VERSION), path, problems)
    unknown: list[str] = []
    sections: dict[str, Any] = {}

    for name, table in raw.items():
        if name not in _section_names():
            unknown.append(f"[{name}]" if isinstance(table, dict) else name)
        elif not isinstance(table, dict):
            problems.append(f"{path}: {name} must be a [{name}] section; ignored.")
        else:
            base = getattr(defaults, name)
            changed = _apply_section(base, name, table, path, problems, unknown)
            sections[name] = changed
            if applied is not None:
                applied.update(
                    f"{name}.{key}" for key in _valid_keys(base, name, table)
                )

    _report_unknown(unknown, version, path, problems)
    return dataclasses.replace(defaults, **sections)


def _file_version(value: object, path: Path, problems: list[str]) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value

    problems.append(
        f"{path}: version = {_show(value)} is not a settings version (a whole"
        f" number from 1); the file is read as version {SCHEMA_VERSION}."
    )
    return SCHEMA_VERSION


def _apply_section(
    base: Any,
    name: str,
    table: dict[str, Any],
    path: Path,
    problems: list[str],
    unknown: list[str],
) -> Any:
    fields = _fields(type(base))
    changes: dict[str, object] = {}

    for key, value in table.items():
        if key not in fields:
            unknown.append(f"{name}.{key}")
            continue

        try:
            changes[key] = _convert(value, fields[key])
        except _InvalidValue as exc:
            problems.append(
                f"{path}: {name}.{key} = {_show(value)} {exc}; "
                f"{_fall_back(base, key, fields[key], changes)}."
            )
    return dataclasses.replace(base, **changes)


def _fall_back(
    base: Any, key: str, spec: _FieldSpec, changes: dict[str, object]
) -> str:
    """Use the field's safe value if it has one, else keep the default."""
    for limit in spec.limits:
        if isinstance(limit, OnInvalid):
            changes[key] = limit.value
            return f"using {_show(limit.value)}, {limit.why}"
    return f"using the default {_show(getattr(base, key))}"


def _valid_keys(base: Any, name: str, table: dict[str, Any]) -> list[str]:
    """The keys of ``table`` that exist in the section and have a valid value."""
    fields = _fields(type(base))
    valid = []
    for key, value in table.items():
        if key not in fields:
            continue
        try:
            _convert(value, fields[key])
        except _InvalidValue:
            continue
        valid.append(key)
    return valid


def _report_unknown(
    unknown: list[str], version: int, path: Path, problems: list[str]
) -> None:
    # In a newer file, keys we do not know are most likely new settings, not
    # typos: say so once instead of once per key.
    if version > SCHEMA_VERSION:
        ignored = f" ({', '.join(unknown)})" if unknown else ""
        problems.append(
            f"{path} is from a newer Punchclock (settings version {version};"
            f" this one reads up to {SCHEMA_VERSION}): the settings this"
            f" version knows are applied, the others{ignored} are ignored."
            " Update Punchclock to use them."
        )
        return

    for key in unknown:
        problems.append(f"{path}: unknown setting {key}, ignored{_suggest(key)}.")


def _suggest(key: str) -> str:
    """A hint at the known key the unknown one was probably meant to be."""
    known = list(_section_names())
    known += [f"{name}.{field_name}" for name, field_name in _all_keys()]
    close = difflib.get_close_matches(key.strip("[]"), known, n=1)
    return f" (did you mean {close[0]}?)" if close else " (a typo?)"


# -- the defaults -------------------------------------------------------------


def _parse_defaults(raw: dict[str, Any]) -> Settings:
    """Every section and key must be there with a valid value, and no other."""
    if raw.pop("version", None) != SCHEMA_VERSION:
        raise SettingsError(f"defaults.toml must have version = {SCHEMA_VERSION}")

    extra = set(raw) - set(_section_names())
    if extra:
        raise SettingsError(f"defaults.toml has unknown sections {sorted(extra)}")

    hints = get_type_hints(Settings)
    sections = {
        name: _parse_default_section(hints[name], name, raw.get(name))
        for name in _section_names()
    }
    return Settings(**sections)


def _parse_default_section(cls: type[Any], name: str, table: object) -> Any:
    fields = _fields(cls)
    if not isinstance(table, dict) or set(table) != set(fields):
        raise SettingsError(
            f"defaults.toml: [{name}] must have exactly {sorted(fields)}"
        )

    try:
        return cls(**{key: _convert(table[key], spec) for key, spec in fields.items()})
    except _InvalidValue as exc:
        raise SettingsError(f"defaults.toml: a value in [{name}] {exc}") from exc


# -- fields and values --------------------------------------------------------


@dataclass(frozen=True)
class _FieldSpec:
    kind: Any
    limits: tuple[Range | Valid | OnInvalid, ...]


def _fields(cls: type[Any]) -> dict[str, _FieldSpec]:
    """The fields of a section: their type and the limits annotated on it."""
    specs = {}
    for name, hint in get_type_hints(cls, include_extras=True).items():
        if get_origin(hint) is Annotated:
            kind, *limits = get_args(hint)
            specs[name] = _FieldSpec(kind, tuple(limits))
        else:
            specs[name] = _FieldSpec(hint, ())
    return specs


def _required(cls: type[Any]) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


def _section_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Settings))


def _all_keys() -> list[tuple[str, str]]:
    hints = get_type_hints(Settings)
    return [(name, key) for name in _section_names() for key in _fields(hints[name])]


def _convert(value: object, spec: _FieldSpec) -> object:
    """``value`` as the field's type, or :class:`_InvalidValue` saying why not."""
    converted = _convert_type(value, spec.kind)

    for limit in spec.limits:
        reason = _outside(converted, limit)
        if reason:
            raise _InvalidValue(reason)
    return converted


def _outside(value: object, limit: Range | Valid | OnInvalid) -> str | None:
    """Why ``value`` breaks ``limit``, or None when it keeps it."""
    if isinstance(limit, OnInvalid):
        return None
    if isinstance(limit, Valid):
        return limit.test(value)

    if isinstance(value, int) and limit.minimum <= value <= limit.maximum:
        return None
    return f"is not between {limit.minimum} and {limit.maximum}"


def _convert_type(value: object, kind: Any) -> object:
    if get_origin(kind) is Literal:
        return _choose(value, get_args(kind))
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if get_origin(kind) is tuple:
        return _convert_list(value, get_args(kind)[0])

    raise _InvalidValue(f"is not {_describe(kind)}")


def _convert_list(value: object, item: Any) -> tuple[object, ...]:
    """A list of texts, or a list of tables (``[[section.key]]``) of ``item``."""
    if item is str and _is_text_list(value):
        return tuple(value)
    if item is int:
        return _convert_number_list(value)
    if item is str or not isinstance(value, list | tuple):
        raise _InvalidValue(f"is not {_describe(tuple if item is str else item)}")
    return tuple(_convert_table(table, item, n) for n, table in enumerate(value, 1))


def _convert_number_list(value: object) -> tuple[int, ...]:
    if isinstance(value, list | tuple) and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        return tuple(value)
    raise _InvalidValue("is not a list of whole numbers, like [80, 100]")


def _convert_table(table: object, cls: type[Any], number: int) -> object:
    """One table of a list of tables: its keys checked like a section's."""
    if isinstance(table, cls):
        table = {key: getattr(table, key) for key in _fields(cls)}
    if not isinstance(table, dict):
        raise _InvalidValue(f"has entry {number} that is not a table")

    fields = _fields(cls)
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise _InvalidValue(f"has entry {number} with unknown key {unknown[0]}")
    converted = {}
    for key, v in table.items():
        try:
            converted[key] = _convert(v, fields[key])
        except _InvalidValue as exc:
            raise _InvalidValue(
                f"has entry {number} whose value {exc} (key {key})"
            ) from exc
    try:
        return cls(**converted)
    except TypeError as exc:
        needed = [key for key in _required(cls) if key not in table]
        what = needed[0] if needed and needed[0] != "name" else "a name"
        raise _InvalidValue(f"has entry {number} without {what}") from exc


def _choose(value: object, choices: tuple[str, ...]) -> str:
    """The choice ``value`` names, ignoring case."""
    if isinstance(value, str):
        for choice in choices:
            if value.casefold() == choice.casefold():
                return choice

    raise _InvalidValue(f"is not one of {', '.join(map(json.dumps, choices))}")


def _is_text_list(value: object) -> TypeGuard[list[str] | tuple[str, ...]]:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _describe(kind: Any) -> str:
    names = {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "text in quotes",
        tuple: 'a list of texts, like ["a", "b"]',
    }
    return names.get(kind, "a list of tables, [[section.key]] or [{...}, ...]")


# -- writing ------------------------------------------------------------------


def _changed_keys(section: Any, default: Any) -> list[tuple[str, object]]:
    """The (key, value) pairs of ``section`` that differ from ``default``."""
    changed = []
    for key, spec in _fields(type(section)).items():
        value = getattr(section, key)
        try:
            _convert(value, spec)
        except _InvalidValue as exc:
            raise SettingsError(
                f"cannot save {key} = {_show(value)}: it {exc}"
            ) from exc

        if value != getattr(default, key):
            changed.append((key, value))
    return changed


def _toml_value(value: object) -> str:
    """``value`` as TOML, for the few value types settings have.

    JSON's string escapes are a subset of TOML's basic-string escapes; only
    DEL, which JSON leaves raw and TOML forbids, needs escaping on top.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        pairs = (
            f"{f.name} = {_toml_value(getattr(value, f.name))}"
            for f in dataclasses.fields(value)
        )
        return "{" + ", ".join(pairs) + "}"

    raise SettingsError(f"settings cannot hold {type(value).__name__} values")


def _show(value: object) -> str:
    """``value`` as the worker would write it, cut short for messages."""
    try:
        shown = _toml_value(value)
    except SettingsError:
        shown = repr(value)
    return _shorten(shown)


def _shorten(text: str) -> str:
    if len(text) <= _SHOWN_CHARS:
        return text
    return text[: _SHOWN_CHARS - 1] + "…"


def _keep_aside_if_lossy(path: Path) -> Path | None:
    """Copy ``path`` aside if rewriting it would lose what it holds."""
    raw, problems = _read_file(path)
    if raw is not None:
        _apply_file(default_settings(), raw, path, problems)
    if not problems:
        return None

    stamp = time.strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.{stamp}.bak")
    for number in itertools.count(2):
        if not kept.exists():
            break
        kept = path.with_name(f"{path.name}.{stamp}-{number}.bak")

    shutil.copyfile(path, kept)
    kept.chmod(FILE_MODE)

    log.warning("kept the previous settings file aside as %s: %s", kept, problems[0])
    return kept
