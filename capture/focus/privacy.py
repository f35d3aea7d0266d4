"""Privacy applied where the focus is read, before a sample leaves the source.

What a privacy rule removes is never held anywhere else: the agent, the
store and the upload only ever see the sample this module returns.
"""

from __future__ import annotations

import enum
import fnmatch
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from capture.base import FocusSample

MAX_TITLE = 1000
PRIVATE_APP = "private"


class TitleLevel(enum.StrEnum):
    """How much of a window is recorded beyond the app's name."""

    FULL = "full"
    APP_ONLY = "app-only"
    DOMAIN_ONLY = "domain-only"


@dataclass(frozen=True)
class FocusPrivacy:
    """The policy's title and URL privacy settings for the focus source.

    Patterns are shell-style globs (``*bank*``, ``KeePass*``), matched without
    regard to case. An app pattern is tried on the app's name and its window
    class; a title pattern on the window title and the URL. A matching sample
    is marked private: its app is kept only with ``keep_private_app_name``,
    its title and URL are dropped.
    """

    excluded_apps: tuple[str, ...] = ()
    excluded_titles: tuple[str, ...] = ()
    title_level: TitleLevel = TitleLevel.FULL
    keep_private_app_name: bool = True
    max_title: int = MAX_TITLE
    _lowered: tuple[tuple[str, ...], tuple[str, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.max_title < 1:
            raise ValueError(f"max_title must be positive, not {self.max_title}")
        TitleLevel(self.title_level)
        lowered = (
            tuple(p.lower() for p in self.excluded_apps),
            tuple(p.lower() for p in self.excluded_titles),
        )
        object.__setattr__(self, "_lowered", lowered)

    def apply(self, sample: FocusSample) -> FocusSample:
        """The sample as this policy allows it to be recorded."""
        if not sample.focused:
            return sample
        if self._is_excluded(sample):
            return self._private(sample)
        if sample.incognito:
            return replace(sample, title="", url=None, domain=None)
        return self._cut(self._leveled(sample))

    def _is_excluded(self, sample: FocusSample) -> bool:
        apps, titles = self._lowered
        app_names = [v.lower() for v in (sample.app, sample.wm_class) if v]
        texts = [v.lower() for v in (sample.title, sample.url) if v]
        return _any_match(app_names, apps) or _any_match(texts, titles)

    def _private(self, sample: FocusSample) -> FocusSample:
        keep = self.keep_private_app_name
        return replace(
            sample,
            app=sample.app if keep else PRIVATE_APP,
            wm_class=sample.wm_class if keep else None,
            pid=sample.pid if keep else None,
            title="",
            url=None,
            domain=None,
            private=True,
            title_cut=False,
        )

    def _leveled(self, sample: FocusSample) -> FocusSample:
        if self.title_level is TitleLevel.APP_ONLY:
            return replace(sample, title="", url=None, domain=None)
        if self.title_level is TitleLevel.DOMAIN_ONLY:
            return replace(sample, title="", url=_origin(sample.url))
        return sample

    def _cut(self, sample: FocusSample) -> FocusSample:
        if len(sample.title) <= self.max_title:
            return sample
        return replace(sample, title=sample.title[: self.max_title], title_cut=True)


def _any_match(values: list[str], patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(v, p) for v in values for p in patterns)


def _origin(url: str | None) -> str | None:
    """``https://host`` of a URL: what domain-only keeps of it."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.hostname}"
