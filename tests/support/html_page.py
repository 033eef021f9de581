"""A small HTML reader for the report page's tests: its sections, table rows, charts and URL attributes."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """The parts of a page the tests look at: sections, tables' body rows, svgs, and every URL attribute."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.rows: dict[str, int] = {}
        self.svgs: list[str] = []
        self.urls: list[str] = []
        self.title = ""
        self._table: str | None = None
        self._in_body = False
        self._in_title = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id") or "")
        elif tag == "table":
            self._table = a.get("id") or f"table-{len(self.rows)}"
            self.rows[self._table] = 0
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table:
            self.rows[self._table] += 1
        elif tag == "svg":
            self.svgs.append(a.get("class") or "")
        elif tag == "title" and not self.svgs:
            self._in_title = True
        self.urls += [v for k, v in attrs if k in ("src", "href", "data", "poster", "srcset") and v]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
