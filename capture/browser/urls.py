"""The URL of the page in front, from the best of three ways.

1. The browser extension's latest report through the loopback receiver,
   taken only while a browser of the same family is focused and its window
   title shows that tab's title (so a stale report never lands on another
   page or another app).
2. Apple Events on macOS: the back end reads the front browser's URL itself
   and passes it in.
3. The address or host name written in the window title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from capture.browser.apps import BrowserFamily
from capture.browser.receiver import BrowserReceiver, BrowserTab
from capture.browser.titles import domain_in_title, looks_private, url_in_title

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PageInFront:
    url: str | None
    domain: str | None
    incognito: bool


NO_PAGE = PageInFront(None, None, False)


class BrowserUrls:
    """Resolves the page of a focused browser window. Any thread; no blocking."""

    def __init__(self, receiver: BrowserReceiver | None = None) -> None:
        self.receiver = receiver

    def resolve(
        self, family: BrowserFamily | None, title: str, os_url: str | None = None
    ) -> PageInFront:
        if family is None:
            return NO_PAGE
        incognito = looks_private(title)

        tab = self._matching_tab(family, title)
        if tab is not None:
            return PageInFront(tab.url, _host(tab.url), incognito or tab.incognito)
        if os_url:
            return PageInFront(os_url, _host(os_url), incognito)
        return PageInFront(url_in_title(title), domain_in_title(title), incognito)

    def _matching_tab(self, family: BrowserFamily, title: str) -> BrowserTab | None:
        if self.receiver is None:
            return None
        tab = self.receiver.latest(family)
        if tab is None:
            return None
        if tab.title and _norm(tab.title) not in _norm(title):
            return None
        return tab


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None
