"""HTML boilerplate: navigation, cookie banners, sidebars, share bars, "related articles" and footers go; the
article's text stays (numbers: bench/html_boilerplate.py, docs/benchmarks.md)."""

from __future__ import annotations

from tests.ingest.loaders._loader_testdata import FIXTURES

from ragd.ingest.loaders import load_document

PAGE = """<!doctype html><html><head><title>Harbour news</title></head><body>
<div id="cookieBanner" class="consent-popup"><p>We use cookies to improve your experience. Accept all?</p></div>
<div class="site-navbar"><a href="/">Home</a> <a href="/sports">Sports</a> <a href="/weather">Weather</a></div>
<div class="layout has-sidebar">
  <div class="article-body">
    <h1>New ferry line opens</h1>
    <p>The harbour authority opened a ferry line between the old port and the island of Ness on Monday.</p>
    <p>Boats leave every forty minutes from seven in the morning until ten at night, all year round.</p>
    <div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Share by e-mail</a></div>
    <section class="related-articles"><h2>Related articles</h2><ul><li><a href="/a">Bridge closed for repairs</a></li>
      <li><a href="/b">Tide tables for June</a></li></ul></section>
  </div>
  <aside class="sidebar-right"><h3>Most read</h3><p>Mayor opens the fish market</p></aside>
  <div role="complementary"><p>Advertisement: buy a boat today</p></div>
</div>
<div class="newsletter-signup"><p>Subscribe to our newsletter for daily news</p></div>
<div class="page-footer"><p>© Harbour Gazette 2026 · Privacy · Imprint</p></div>
</body></html>"""


def test_a_news_page_keeps_its_article_only() -> None:
    doc = load_document(PAGE.encode(), "ferry.html")
    assert doc.title == "New ferry line opens"
    assert [b.text for b in doc.blocks] == [
        "New ferry line opens",
        "The harbour authority opened a ferry line between the old port and the island of Ness on Monday.",
        "Boats leave every forty minutes from seven in the morning until ten at night, all year round.",
    ]


def test_a_wrapper_named_like_chrome_is_kept_when_it_holds_the_page() -> None:
    html = ("<html><body><div class='content-with-sidebar'><h1>Minutes</h1><p>The council approved the budget "
            "for the new school.</p><p>Works start in May.</p></div><div class='sidebar'><p>Links</p></div>"
            "</body></html>")
    doc = load_document(html.encode(), "minutes.html")
    assert "approved the budget" in doc.text and "Works start in May." in doc.text and "Links" not in doc.text


def test_wikipedia_chrome_goes_and_the_article_stays() -> None:
    doc = load_document((FIXTURES / "html/wiki_duck.html").read_bytes(), "wiki_duck.html")
    for chrome in ("Afrikaans", "Edit links", "From Wikipedia, the free encyclopedia", "Retrieved from",
                   "Hidden categories", "Authority control databases", "[citation needed]", "Birds portal"):
        assert chrome not in doc.text, chrome
    for kept in ("This article is about the bird.", "Duck is the common name for numerous species of waterfowl",
                 "The 1992 Disney film The Mighty Ducks", "A common urban legend claims that duck quacks do not echo"):
        assert kept in doc.text, kept
