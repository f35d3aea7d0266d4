"""Privacy rules at the source, and the URL of the page in front."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from agent.clock import ManualClock
from capture.base import FocusSample
from capture.browser.apps import BrowserFamily, browser_family, family_of_bucket
from capture.browser.receiver import BrowserReceiver, BrowserTab
from capture.browser.titles import (
    domain_in_title,
    looks_private,
    page_part,
    url_in_title,
)
from capture.browser.urls import BrowserUrls
from capture.focus.common import EmittingFocusSource, FocusedWindow
from capture.focus.privacy import PRIVATE_APP, FocusPrivacy, TitleLevel

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _sample(**fields: object) -> FocusSample:
    base = FocusSample(
        at=AT,
        mono=1.0,
        app="Firefox",
        title="Pull requests · github.com",
        url="https://github.com/org/repo/pulls?q=secret",
        domain="github.com",
        pid=42,
        wm_class="firefox",
        window_id=7,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_full_level_keeps_everything() -> None:
    sample = _sample()
    assert FocusPrivacy().apply(sample) == sample


def test_excluded_app_keeps_name_but_nothing_else() -> None:
    privacy = FocusPrivacy(excluded_apps=("fire*",))

    result = privacy.apply(_sample())

    assert result.private
    assert (result.app, result.title, result.url, result.domain) == (
        "Firefox",
        "",
        None,
        None,
    )


def test_excluded_app_can_hide_the_app_name_too() -> None:
    privacy = FocusPrivacy(excluded_apps=("KEEPASS*",), keep_private_app_name=False)

    result = privacy.apply(_sample(app="KeePassXC", wm_class="keepassxc"))

    assert (result.app, result.wm_class, result.pid, result.private) == (
        PRIVATE_APP,
        None,
        None,
        True,
    )


@pytest.mark.parametrize("pattern", ["*pull requests*", "*pulls?q=secret*"])
def test_excluded_title_matches_title_or_url(pattern: str) -> None:
    result = FocusPrivacy(excluded_titles=(pattern,)).apply(_sample())
    assert result.private
    assert result.title == ""
    assert result.url is None


def test_app_only_level() -> None:
    result = FocusPrivacy(title_level=TitleLevel.APP_ONLY).apply(_sample())
    assert (result.title, result.url, result.domain) == ("", None, None)
    assert result.app == "Firefox"
    assert not result.private


def test_domain_only_level_keeps_the_origin() -> None:
    result = FocusPrivacy(title_level=TitleLevel.DOMAIN_ONLY).apply(_sample())
    assert (result.title, result.url, result.domain) == (
        "",
        "https://github.com",
        "github.com",
    )


def test_incognito_records_neither_title_nor_url() -> None:
    result = FocusPrivacy().apply(_sample(incognito=True))
    assert (result.title, result.url, result.domain, result.incognito) == (
        "",
        None,
        None,
        True,
    )


def test_long_titles_are_cut_and_marked() -> None:
    result = FocusPrivacy().apply(_sample(title="x" * 5000))
    assert len(result.title) == 1000
    assert result.title_cut
    short = FocusPrivacy().apply(_sample(title="x" * 1000))
    assert not short.title_cut


def test_nothing_focused_passes_untouched() -> None:
    nothing = FocusSample(at=AT, mono=1.0, app=None)
    assert FocusPrivacy(excluded_apps=("*",)).apply(nothing) == nothing


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_title"):
        FocusPrivacy(max_title=0)
    with pytest.raises(ValueError, match="everything"):
        FocusPrivacy(title_level="everything")  # type: ignore[arg-type]


# titles


@pytest.mark.parametrize(
    ("title", "domain"),
    [
        ("github.com - Google Chrome", "github.com"),
        ("Docs — https://docs.python.org/3/ — Mozilla Firefox", "docs.python.org"),
        ("Inbox (3) - mail.example.co.uk - Chromium", "mail.example.co.uk"),
        ("report.pdf - Google Chrome", None),
        ("New Tab - Google Chrome", None),
        ("user@example.com - Mail", None),
        ("", None),
    ],
)
def test_domain_in_title(title: str, domain: str | None) -> None:
    assert domain_in_title(title) == domain


def test_url_in_title_only_for_full_addresses() -> None:
    assert url_in_title("x https://a.example/p?q=1, y") == "https://a.example/p?q=1"
    assert url_in_title("a.example - Chrome") is None


@pytest.mark.parametrize(
    "title",
    [
        "Mozilla Firefox Private Browsing",
        "New Tab - Google Chrome (Incognito)",
        "Bing - InPrivate - Microsoft Edge",
    ],
)
def test_private_window_markers(title: str) -> None:
    assert looks_private(title)


def test_browser_families() -> None:
    assert browser_family(None, "chrome.exe") is BrowserFamily.CHROME
    assert browser_family("Navigator", "firefox") is BrowserFamily.FIREFOX
    assert browser_family("com.apple.Safari") is BrowserFamily.SAFARI
    assert browser_family("XTerm", "bash") is None
    assert family_of_bucket("aw-watcher-web-firefox") is BrowserFamily.FIREFOX
    assert family_of_bucket("aw-watcher-web-chrome_myhost") is BrowserFamily.CHROME
    assert family_of_bucket("aw-watcher-window_myhost") is None


# attribution


def _tab(
    url: str, title: str, family: BrowserFamily = BrowserFamily.CHROME
) -> BrowserTab:
    return BrowserTab(
        bucket_id=f"aw-watcher-web-{family}",
        family=family,
        url=url,
        title=title,
        incognito=False,
        audible=False,
        tab_count=1,
        timestamp=AT,
        received_mono=1.0,
    )


class _Receiver(BrowserReceiver):
    def __init__(self, *tabs: BrowserTab) -> None:
        super().__init__()
        self._tabs = {t.bucket_id: t for t in tabs}


def test_extension_url_needs_same_family_and_matching_title() -> None:
    urls = BrowserUrls(_Receiver(_tab("https://a.example/x", "Page A")))

    hit = urls.resolve(BrowserFamily.CHROME, "Page A - Google Chrome")
    stale = urls.resolve(BrowserFamily.CHROME, "Page B - Google Chrome")
    other = urls.resolve(BrowserFamily.FIREFOX, "Page A — Mozilla Firefox")
    not_browser = urls.resolve(None, "Page A")

    assert (hit.url, hit.domain) == ("https://a.example/x", "a.example")
    assert stale.url is None
    assert other.url is None
    assert not_browser.url is None
    assert not_browser.domain is None


@pytest.mark.parametrize(
    ("window_title", "expected"),
    [
        # A page with a title of its own: the untitled tab is another page.
        ("Page B - Google Chrome", (None, None)),
        ("GitHub - other.example - Google Chrome", (None, "other.example")),
        # Only the browser's name: the title gives nothing better.
        ("Google Chrome", ("https://a.example/x", "a.example")),
        ("", ("https://a.example/x", "a.example")),
        # The tab's own address, as browsers title an untitled page.
        ("a.example/x - Google Chrome", ("https://a.example/x", "a.example")),
    ],
)
def test_a_tab_without_a_title_fits_only_a_window_that_says_nothing_better(
    window_title: str, expected: tuple[str | None, str | None]
) -> None:
    urls = BrowserUrls(_Receiver(_tab("https://a.example/x", "")))
    page = urls.resolve(BrowserFamily.CHROME, window_title)
    assert (page.url, page.domain) == expected


def test_a_tab_without_a_title_never_beats_apple_events() -> None:
    urls = BrowserUrls(_Receiver(_tab("https://a.example/x", "", BrowserFamily.SAFARI)))
    page = urls.resolve(BrowserFamily.SAFARI, "", "https://www.apple.com/")
    assert page.url == "https://www.apple.com/"


@pytest.mark.parametrize(
    ("title", "page"),
    [
        ("Mozilla Firefox", ""),
        ("Mozilla Firefox Private Browsing", ""),
        ("Page A — Mozilla Firefox", "Page A"),
        ("Page - Personal - Microsoft\u200b Edge", "Page - Personal"),
        ("Brave New World", "Brave New World"),
        ("Opera - Google Chrome", "Opera"),
    ],
)
def test_page_part_drops_the_browser_name(title: str, page: str) -> None:
    assert page_part(title) == page


def test_apple_events_url_then_title_domain_as_fallbacks() -> None:
    urls = BrowserUrls()

    os_url = urls.resolve(BrowserFamily.SAFARI, "Apple", "https://www.apple.com/")
    titled = urls.resolve(BrowserFamily.CHROME, "example.org - Google Chrome")

    assert (os_url.url, os_url.domain) == ("https://www.apple.com/", "www.apple.com")
    assert (titled.url, titled.domain) == (None, "example.org")


class _Source(EmittingFocusSource):
    backend = "test"

    def _start_backend(self) -> None:
        return None

    def _stop_backend(self) -> None:
        return None

    def show(self, window: FocusedWindow | None) -> FocusSample | None:
        return self._observe(window, self._clock.now(), self._clock.monotonic())


def test_a_new_tab_re_emits_only_while_the_browser_is_in_front() -> None:
    receiver = BrowserReceiver()
    clock = ManualClock()
    source = _Source(clock, urls=BrowserUrls(receiver))
    samples: list[FocusSample] = []
    source.start(samples.append)
    receiver._buckets["aw-watcher-web-chrome"] = {}

    chrome = FocusedWindow(1, None, "chromium", "Page A - Chromium")
    source.show(chrome)
    receiver.heartbeat("aw-watcher-web-chrome", _beat("https://a.example/", "Page A"))
    clock.advance(5)
    source.show(FocusedWindow(2, None, "XTerm", "shell"))
    receiver.heartbeat("aw-watcher-web-chrome", _beat("https://b.example/", "Page B"))
    source.stop()

    assert [(s.app, s.url) for s in samples] == [
        ("chromium", None),
        ("chromium", "https://a.example/"),
        ("XTerm", None),
    ]


def _beat(url: str, title: str) -> dict[str, object]:
    return {"timestamp": "2026-01-05T09:00:00Z", "data": {"url": url, "title": title}}


def test_control_characters_never_reach_a_title() -> None:
    source = _Source(ManualClock())
    samples: list[FocusSample] = []
    source.start(samples.append)
    source.show(FocusedWindow(1, None, "XTerm", "evil\x1b[31m\r\ntitle\x00"))

    assert samples[0].title == "evil [31m  title"
