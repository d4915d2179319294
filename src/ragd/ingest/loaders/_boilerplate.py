"""Page chrome inside an HTML page's content: navigation, cookie banners, sidebars, share bars, "related" boxes,
category lists — recognised by their ARIA role or by the words of their ``class`` and ``id``.

Measured on the fixtures with ``bench/html_boilerplate.py`` (docs/benchmarks.md). An element holding at least half
of the page's text is never dropped, whatever its name says (a layout wrapper such as
``<div class="page-with-sidebar">`` around the article)."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

ROLES = frozenset({
    "navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar", "dialog",
    "alertdialog",
})
"""ARIA landmark and widget roles that are never a page's own content."""

WORDS = frozenset({
    "cookie", "cookies", "consent", "gdpr", "banner", "sidebar", "navbar", "navbox", "nav", "menu",
    "dropdown", "portlet", "breadcrumb", "breadcrumbs", "related", "share", "sharing", "social", "newsletter",
    "subscribe", "subscription", "advert", "advertisement", "ads", "promo", "popup", "catlinks", "printfooter",
    "noprint", "toc", "footer", "skiplink", "pagination", "pager",
})
"""Words of a ``class`` or ``id`` that name chrome (whole words: ``has-sidebar`` matches, ``headset`` does not).
Not "navigation": Wikipedia's hatnotes ("This article is about …") are ``navigation-not-searchable``."""

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SAFE_SHARE = 0.5


def chrome_words(node: LexborNode) -> set[str]:
    """The lower-cased words of the node's ``class`` and ``id`` (``cookieBanner`` → cookie, banner)."""
    attrs = node.attributes
    text = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    return {w.lower() for w in _WORD.findall(text)}


class ChromeFilter:
    """Decides, node by node, whether an element is chrome to leave out of a page whose content has ``total``
    characters of text."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __call__(self, node: LexborNode) -> bool:
        attrs = node.attributes
        role = (attrs.get("role") or "").strip().lower()
        if role not in ROLES and not (chrome_words(node) & WORDS):
            return False
        return len(node.text(deep=True) or "") < _SAFE_SHARE * self.total
