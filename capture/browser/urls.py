"""The URL of the page in front, from the best of three ways.

1. The browser extension's latest report through the loopback receiver,
   taken only while a browser of the same family is focused and its window
   title shows that tab's title (so a stale report never lands on another
   page or another app). A tab reported with no title (a page without one,
   one still loading) proves nothing by its title: it is taken only when
   the window title gives nothing better — it shows only the browser's name,
   or the tab's own host (browsers title an untitled page with its address)
   — and never over an address from Apple Events.
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
from capture.browser.titles import (
    domain_in_title,
    looks_private,
    page_part,
    url_in_title,
)

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

        tab = self._matching_tab(family, title, os_url)
        if tab is not None:
            return PageInFront(tab.url, _host(tab.url), incognito or tab.incognito)
        if os_url:
            return PageInFront(os_url, _host(os_url), incognito)
        return PageInFront(url_in_title(title), domain_in_title(title), incognito)

    def _matching_tab(
        self, family: BrowserFamily, title: str, os_url: str | None
    ) -> BrowserTab | None:
        if self.receiver is None:
            return None
        tab = self.receiver.latest(family)
        if tab is None:
            return None
        if tab.title:
            return tab if _norm(tab.title) in _norm(title) else None
        return tab if _untitled_fits(tab, title, os_url) else None


def _untitled_fits(tab: BrowserTab, title: str, os_url: str | None) -> bool:
    """Whether a tab reported without a title may be the window's page."""
    if os_url:
        return False
    page = _norm(page_part(title)).lower()
    if not page:
        return True
    host = _host(tab.url)
    return host is not None and host.lower() in page


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None
