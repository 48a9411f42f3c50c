"""HTML to text for classification: block tags as line ends, ``<blockquote>`` as ``>`` quotes,
scripts and styles dropped. Never raises; a parser failure falls back to a linear tag strip."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")


class _HTMLToText(HTMLParser):
    _BLOCK = frozenset(
        {
            "p",
            "div",
            "tr",
            "li",
            "ul",
            "ol",
            "table",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "hr",
            "section",
            "article",
            "header",
            "footer",
        }
    )
    _SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._cur: list[str] = []
        self._depth = 0  # blockquote depth
        self._line_depth = 0
        self._skip = 0

    def _newline(self) -> None:
        self.lines.append((self._line_depth, "".join(self._cur)))
        self._cur = []
        self._line_depth = self._depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "br":
            self._newline()
        elif tag == "blockquote":
            self._newline()
            self._depth += 1
            self._line_depth = self._depth
        elif tag in self._BLOCK:
            self._newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "blockquote":
            self._newline()
            self._depth = max(0, self._depth - 1)
            self._line_depth = self._depth
        elif tag in self._BLOCK:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = _HTML_SPACE.sub(" ", data)
        if text:
            self._cur.append(text)

    def result(self) -> str:
        self._newline()
        out: list[str] = []
        for depth, line in self.lines:
            line = line.replace("\xa0", " ").strip()
            if not line:
                if depth:
                    out.append(">" * depth)
                elif out and out[-1] != "":
                    out.append("")
                continue
            out.append("> " * depth + line)
        return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    """Crude HTML -> text; ``<blockquote>`` content comes out ``>``-quoted."""
    try:
        parser = _HTMLToText()
        parser.feed(html)
        parser.close()
        return parser.result()
    except Exception:
        return _strip_tags(html)


_LINE_TAGS = frozenset({"br", "br/", "/p", "/div"})


def _strip_tags(html: str) -> str:
    """Tags out, ``<br>``/``</p>``/``</div>`` as line ends; one left-to-right pass (linear)."""
    out: list[str] = []
    i = 0
    while i < len(html):
        lt = html.find("<", i)
        if lt < 0:
            out.append(html[i:])
            break
        out.append(html[i:lt])
        gt = html.find(">", lt + 1)
        if gt < 0:
            break  # an unclosed tag: the rest is markup
        name = html[lt + 1 : gt].strip().split(" ", 1)[0].lower()
        out.append("\n" if name in _LINE_TAGS else " ")
        i = gt + 1
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(lines).strip()
