"""HTML loader: the main content's headings, paragraphs, lists, code and tables (as Markdown)."""

from __future__ import annotations

import codecs
import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ragd.models import ParsedDocument

from ._boilerplate import ChromeFilter
from ._build import DocBuilder, collapse, markdown_table
from ._decode import bom_encoding, decode_text
from .detect import HTML

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# Browsers read these labels as windows-1252.
_CP1252_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii", "l1"}

DROP = frozenset(
    {
        "script",
        "style",
        "noscript",
        "nav",
        "aside",
        "form",
        "template",
        "svg",
        "iframe",
        "button",
        "select",
        "input",
        "textarea",
        "head",
        "title",
        "meta",
        "link",
        "object",
        "embed",
        "canvas",
        "audio",
        "video",
        "map",
        "dialog",
        "math",
    }
)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCKS = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "blockquote",
        "dd",
        "dt",
        "dl",
        "figure",
        "figcaption",
        "address",
        "center",
        "details",
        "summary",
        "body",
        "html",
        "fieldset",
        "legend",
        "hr",
        "header",
        "footer",
        "hgroup",
        "caption",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "td",
        "th",
        "li",
        "ul",
        "ol",
        "table",
        "pre",
    }
)


def _decode(data: bytes) -> str:
    if bom_encoding(data) is None:
        match = _META_CHARSET.search(data[:4096])
        if match:
            label = match.group(1).decode("ascii", "ignore").lower()
            label = "cp1252" if label in _CP1252_LABELS else label
            try:
                codecs.lookup(label)
            except LookupError:
                pass
            else:
                return decode_text(data, label)
    return decode_text(data)


def _hidden(node: LexborNode) -> bool:
    attrs = node.attributes
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    style = (attrs.get("style") or "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _flat(node: LexborNode, out: list[str]) -> None:
    """All visible text under ``node``; block boundaries become spaces."""
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.append(child.text(deep=False) or "")
        elif tag is None or tag.startswith("-") or tag in DROP or _hidden(child):
            continue
        elif tag == "br" or tag in BLOCKS or tag in HEADINGS:
            out.append(" ")
            _flat(child, out)
            out.append(" ")
        else:
            _flat(child, out)


def flat_text(node: LexborNode) -> str:
    out: list[str] = []
    _flat(node, out)
    return collapse("".join(out))


def _int_attr(node: LexborNode, name: str, limit: int) -> int:
    try:
        return max(1, min(int((node.attributes.get(name) or "1").strip()), limit))
    except ValueError:
        return 1


def _rows_of(table: LexborNode) -> list[LexborNode]:
    rows: list[LexborNode] = []
    for child in table.iter():
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(c for c in child.iter() if c.tag == "tr")
    return rows


def table_grid(table: LexborNode) -> list[list[str]]:
    """The table's cells on a regular grid: spanned cells repeat their text."""
    grid: list[list[str]] = []
    carry: dict[int, tuple[str, int]] = {}  # column → (text, rows still covered) from a rowspan above
    for tr in _rows_of(table):
        row: list[str] = []

        def fill_carried(row: list[str] = row) -> None:
            while len(row) in carry:
                col = len(row)
                text, left = carry[col]
                row.append(text)
                if left <= 1:
                    del carry[col]
                else:
                    carry[col] = (text, left - 1)

        for cell in tr.iter():
            if cell.tag not in ("td", "th"):
                continue
            fill_carried()
            text = flat_text(cell)
            colspan, rowspan = _int_attr(cell, "colspan", 64), _int_attr(cell, "rowspan", 1000)
            for _ in range(colspan):
                if rowspan > 1:
                    carry[len(row)] = (text, rowspan - 1)
                row.append(text)
        fill_carried()
        if row:
            grid.append(row)
    return grid


class _Walker:
    def __init__(self, builder: DocBuilder, drop: frozenset[str], chrome: ChromeFilter | None = None) -> None:
        self.b = builder
        self.drop = drop
        self.chrome = chrome or (lambda _node: False)
        self.buf: list[str] = []

    def flush(self) -> None:
        if self.buf:
            lines = (collapse(line) for line in "".join(self.buf).split("\n"))
            self.b.add("paragraph", "\n".join(line for line in lines if line))
            self.buf.clear()

    def walk(self, node: LexborNode) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buf.append(child.text(deep=False) or "")
            elif tag is None or tag.startswith("-") or tag in self.drop or _hidden(child) or self.chrome(child):
                continue
            elif tag == "br":
                self.buf.append("\n")
            elif tag in HEADINGS:
                self.flush()
                self.b.heading(flat_text(child), HEADINGS[tag])
            elif tag == "pre":
                self.flush()
                self.b.add("code", (child.text(deep=True) or "").strip("\n"))
            elif tag in ("ul", "ol"):
                self.flush()
                self.b.add("list", "\n".join(self.list_lines(child, 0)))
            elif tag == "table":
                self.flush()
                self.table(child)
            elif tag in BLOCKS:
                self.flush()
                self.walk(child)
                self.flush()
            else:
                self.walk(child)

    def list_lines(self, node: LexborNode, depth: int) -> list[str]:
        lines: list[str] = []
        ordered = node.tag == "ol"
        n = 0
        for li in node.iter():
            if li.tag != "li" or _hidden(li):
                continue
            n += 1
            marker = f"{n}." if ordered else "-"
            out: list[str] = []
            nested: list[LexborNode] = []
            for part in li.iter(include_text=True):
                if part.tag in ("ul", "ol"):
                    nested.append(part)
                elif part.tag == "-text":
                    out.append(part.text(deep=False) or "")
                elif part.tag and not part.tag.startswith("-") and part.tag not in self.drop:
                    _flat(part, out)
            text = collapse("".join(out))
            if text:
                lines.append(f"{'  ' * depth}{marker} {text}")
            for sub in nested:
                lines.extend(self.list_lines(sub, depth + 1))
        return lines

    def table(self, node: LexborNode) -> None:
        caption = next((c for c in node.iter() if c.tag == "caption"), None)
        if caption is not None:
            self.b.add("paragraph", flat_text(caption))
        grid = table_grid(node)
        if grid and max(len(r) for r in grid) == 1:
            self.walk(node)  # a one-column table is layout, not data
            self.flush()
            return
        md = markdown_table(grid)
        if md is not None:
            self.b.add("table", md, header_lines=2)


def _root(tree: LexborHTMLParser) -> tuple[LexborNode | None, bool]:
    main = tree.css_first("main") or tree.css_first("[role=main]")
    if main is not None:
        return main, True
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0], True
    return tree.body or tree.root, False


def load_html(data: bytes, filename: str) -> ParsedDocument:
    """Blocks of the page's main content; the title is the first ``<h1>`` or else ``<title>``."""
    tree = LexborHTMLParser(_decode(data))
    builder = DocBuilder(HTML)
    root, focused = _root(tree)
    # Inside <main>/<article> a <header> usually holds the page's own title; around it, it is site chrome.
    drop = DROP if focused else DROP | {"header", "footer"}
    if root is not None:
        walker = _Walker(builder, drop, ChromeFilter(len(root.text(deep=True) or "")))
        walker.walk(root)
        walker.flush()
    title_node = tree.css_first("title")
    title = (
        builder.first_h1 or (collapse(title_node.text() or "") if title_node is not None else None) or None
    )
    return builder.build(title=title, empty_reason="the HTML page contains no visible text")
