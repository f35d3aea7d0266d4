"""What a browser's window title gives away: the page's domain, private mode.

The last of the three ways to a URL (after the extension and Apple Events):
some browsers, and "URL in title" add-ons, put the address or the host in
the window title. Only a full ``http(s)://`` address becomes a URL; a bare
host name becomes the sample's domain.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL = re.compile(r"https?://[^\s<>\"'|]+", re.IGNORECASE)

# A host name with at least one dot and an alphabetic top-level label,
# standing on its own between separators ("github.com - Google Chrome").
_HOST = re.compile(
    r"(?<![\w.@/-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})"
    r"(?::\d{1,5})?(?![\w.@-])",
    re.IGNORECASE,
)

# Words that mark a window as private in the window titles of the big
# browsers (Firefox "Private Browsing", Chrome "Incognito", Edge "InPrivate").
_PRIVATE_MARKERS = ("private browsing", "(incognito)", "- incognito", "inprivate")

# A browser's own name at the end of its window title ("Page - Google
# Chrome"), or alone ("Mozilla Firefox" over a page with no title), with the
# private-window words some browsers add after it.
_BROWSER_NAME = re.compile(
    r"^(?:(?P<page>.*?)\s*[-\u2013\u2014|]\s*)?"
    r"(?:mozilla firefox|firefox(?: developer edition| nightly)?|librewolf"
    r"|google chrome|chromium|microsoft\u200b?\s*edge|brave|opera|vivaldi|safari)"
    r"(?:\s*(?:private browsing|\(incognito\)|- incognito|- inprivate))?$",
    re.IGNORECASE,
)

# Common file names look like host names; these endings are never domains.
_NOT_TLDS = frozenset(
    {"py", "txt", "md", "js", "ts", "json", "html", "htm", "pdf", "png", "jpg"}
    | {"jpeg", "gif", "csv", "xlsx", "docx", "doc", "log", "sh", "rs", "go"}
    | {"cpp", "h", "java", "kt", "rb", "php", "css", "xml", "yml", "yaml", "zip"}
)


def url_in_title(title: str) -> str | None:
    """A full http(s) address written in the title, if there is one."""
    match = _URL.search(title)
    if match is None:
        return None
    url = match.group(0).rstrip(".,;:)]")
    return url if urlsplit(url).hostname else None


def domain_in_title(title: str) -> str | None:
    """The host named in the title, from a full address or a bare host name."""
    url = url_in_title(title)
    if url is not None:
        return urlsplit(url).hostname
    for match in _HOST.finditer(title):
        host = match.group(1).lower()
        if host.rsplit(".", 1)[-1] not in _NOT_TLDS:
            return host
    return None


def page_part(title: str) -> str:
    """The window title without the browser's name: what it says of the page
    ("" when the window shows only the browser's name)."""
    stripped = title.strip()
    match = _BROWSER_NAME.match(stripped)
    if match is None:
        return stripped
    return (match.group("page") or "").strip()


def looks_private(title: str) -> bool:
    """True when the title carries a browser's private-window marker."""
    lowered = title.lower()
    return any(marker in lowered for marker in _PRIVATE_MARKERS)
