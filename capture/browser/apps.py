"""Which apps are web browsers, and of which family.

The family ties a focused window to what the browser extension reports:
the extension names its bucket after the browser it runs in
("aw-watcher-web-chrome", "aw-watcher-web-firefox", ...), and Chromium-based
browsers other than Brave and Opera call themselves "chrome" there.
"""

from __future__ import annotations

import enum


class BrowserFamily(enum.StrEnum):
    CHROME = "chrome"
    FIREFOX = "firefox"
    SAFARI = "safari"
    BRAVE = "brave"
    OPERA = "opera"


# Window classes (X11), process names (Windows, Linux) and bundle
# identifiers (macOS), lower-cased, without ".exe".
_KNOWN: dict[str, BrowserFamily] = {
    "google-chrome": BrowserFamily.CHROME,
    "google-chrome-beta": BrowserFamily.CHROME,
    "chrome": BrowserFamily.CHROME,
    "chromium": BrowserFamily.CHROME,
    "chromium-browser": BrowserFamily.CHROME,
    "microsoft-edge": BrowserFamily.CHROME,
    "msedge": BrowserFamily.CHROME,
    "vivaldi": BrowserFamily.CHROME,
    "vivaldi-stable": BrowserFamily.CHROME,
    "com.google.chrome": BrowserFamily.CHROME,
    "org.chromium.chromium": BrowserFamily.CHROME,
    "com.microsoft.edgemac": BrowserFamily.CHROME,
    "com.vivaldi.vivaldi": BrowserFamily.CHROME,
    "firefox": BrowserFamily.FIREFOX,
    "firefox-esr": BrowserFamily.FIREFOX,
    "navigator": BrowserFamily.FIREFOX,
    "librewolf": BrowserFamily.FIREFOX,
    "org.mozilla.firefox": BrowserFamily.FIREFOX,
    "safari": BrowserFamily.SAFARI,
    "com.apple.safari": BrowserFamily.SAFARI,
    "brave": BrowserFamily.BRAVE,
    "brave-browser": BrowserFamily.BRAVE,
    "com.brave.browser": BrowserFamily.BRAVE,
    "opera": BrowserFamily.OPERA,
    "com.operasoftware.opera": BrowserFamily.OPERA,
}


def browser_family(*names: str | None) -> BrowserFamily | None:
    """The family of the first name that is a known browser, else None."""
    for name in names:
        if not name:
            continue
        key = name.lower().removesuffix(".exe")
        family = _KNOWN.get(key)
        if family is not None:
            return family
    return None


def family_of_bucket(bucket_id: str) -> BrowserFamily | None:
    """The browser family an aw-watcher-web bucket id names, if any.

    Ids look like ``aw-watcher-web-chrome`` or, in newer extension versions,
    ``aw-watcher-web-chrome_HOSTNAME``.
    """
    prefix = "aw-watcher-web-"
    if not bucket_id.startswith(prefix):
        return None
    name = bucket_id[len(prefix) :].split("_", 1)[0]
    try:
        return BrowserFamily(name.lower())
    except ValueError:
        return None
