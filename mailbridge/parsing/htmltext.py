"""Render HTML mail as readable plain text, keeping paragraphs, lists and quote levels.

nh3 (html5ever) first reduces the markup to a few well-formed structural tags in linear time: the
stdlib HTMLParser alone needs minutes for hostile input such as 200,000 unclosed "<!--". The stdlib
parser then renders that small, clean vocabulary.
"""

from __future__ import annotations

from html.parser import HTMLParser

import nh3

_SKIPPED = {"script", "style", "head", "title", "template", "xml"}
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre", "blockquote", "hr", "dl"}
_LINES = {"div", "br", "tr", "li", "dt", "dd", "section", "article", "header", "footer", "address", "center"}
_CELLS = {"td", "th"}
_KEPT = _PARAGRAPHS | _LINES | _CELLS
# Deeper quotes add nothing readable; the bound keeps hostile nesting from bloating the text.
_MAX_QUOTE_DEPTH = 10


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._words: list[str] = []
        self._skipping = 0
        self._quote_depth = 0
        self._line_depth = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _PARAGRAPHS or tag in _LINES:
            self._break(blank=tag in _PARAGRAPHS)
            self._quote_depth += tag == "blockquote"
            self._pre += tag == "pre"
            self._line_depth = self._quote_depth
            if tag == "li":
                self._words.append("- ")
        elif tag in _CELLS:
            self._words.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "hr"}:
            self._break(blank=tag == "hr")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _PARAGRAPHS or tag in _LINES:
            if tag != "br":
                self._break(blank=tag in _PARAGRAPHS)
            self._quote_depth = max(0, self._quote_depth - (tag == "blockquote"))
            self._pre = max(0, self._pre - (tag == "pre"))
            self._line_depth = self._quote_depth

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._pre:
            self._words.append(data)
            return
        first, *rest = data.split("\n")
        self._words.append(first)
        for line in rest:
            self._break(blank=False)
            self._words.append(line)

    def _break(self, *, blank: bool) -> None:
        text = "".join(self._words)
        line = text.rstrip() if self._pre else " ".join(text.split())
        if line or self._words:
            self.lines.append((self._line_depth, line))
        if blank:
            self.lines.append((self._line_depth, ""))
        self._words = []
        self._line_depth = self._quote_depth

    def text(self) -> str:
        self._break(blank=False)
        kept: list[tuple[int, str]] = []
        for depth, line in self.lines:
            if line or (kept and kept[-1][1]):
                kept.append((depth, line))
        while kept and not kept[-1][1]:
            kept.pop()
        return "\n".join(_quoted(depth, line) for depth, line in kept).strip()


def _quoted(depth: int, line: str) -> str:
    if not depth:
        return line
    return ("> " * min(depth, _MAX_QUOTE_DEPTH) + line).rstrip()


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML body; blockquotes become "> " quotes."""
    structure = nh3.clean(html, tags=_KEPT, attributes={}, clean_content_tags=_SKIPPED, strip_comments=True)
    renderer = _TextRenderer()
    renderer.feed(structure)
    renderer.close()
    return renderer.text()
