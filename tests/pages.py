"""What the tests read of a report page: its result tables' rows, images, links, scripts and attributes."""

from __future__ import annotations

import base64
import io
from html.parser import HTMLParser

from PIL import Image

#: The report's Content-Security-Policy: nothing from anywhere, only its own inline style and script.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


class Page(HTMLParser):
    """Collects what matters of a report: rows of its result tables, images, links, scripts, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tables: list[str] = []
        self.scripts = 0
        self.handlers: list[str] = []
        self.text: list[str] = []
        self.table: str | None = None
        self.row: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "table":
            self.table = values.get("id", "")
            self.tables.append(self.table)
        if tag == "tr" and self.table and "data-entity" in values:
            self.row = {**values, "table": self.table, "images": "", "links": ""}
            self.rows.append(self.row)
        if tag == "img":
            self.images.append(values.get("src", ""))
            if self.row is not None:
                self.row["images"] += values.get("src", "") + " "
        if tag == "a":
            self.links.append(values.get("href", ""))
            if self.row is not None:
                self.row["links"] += values.get("href", "") + " "
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None
        if tag == "tr":
            self.row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def in_table(self, table: str) -> list[dict[str, str]]:
        return [row for row in self.rows if row["table"] == table]

    def picture(self, src: str) -> Image.Image:
        assert src.startswith("data:image/jpeg;base64,")
        return Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")


def parsed(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page
