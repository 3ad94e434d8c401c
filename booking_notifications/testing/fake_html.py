"""Telegram's HTML parse mode, as the fake Bot API applies it to the texts it is sent.

Telegram checks the tags (a small fixed set), counts the length of the *visible* text and answers
with that text plus ``entities`` in UTF-16 code units, not the markup. The fake does the same, so a
bot that rebuilds HTML from a message it receives back (``message.html_text``) sees what it would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
HTML_TAGS |= {"tg-spoiler", "span", "blockquote", "tg-time"}
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-time": "date_time",
}
PRIORITY = {"pre": 11, "code": 20, "text_link": 49, "bold": 90, "italic": 91, "underline": 92}
PRIORITY |= {"strikethrough": 93, "spoiler": 94, "blockquote": 0, "expandable_blockquote": 0}
PRIORITY |= {"date_time": 95}
"""How Telegram orders entities that cover the same text (TDLib's type priorities)."""


DATE_TIME_FORMAT = re.compile(r"r|w?[dD]?[tT]?")
"""The grammar of a ``date_time`` entity's format (Bot API 9.5, "Date-time entity formatting"):
relative ("r") alone, or in this order an optional day of the week, a short or long date and a
short or long time; empty shows the text as written."""


def date_time_problem(unix_time: object, date_time_format: object) -> str | None:
    """Why a ``date_time`` entity's Unix time or format is refused; None when both are valid."""
    if isinstance(unix_time, bool) or not isinstance(unix_time, int) or unix_time < 0:
        return "date_time entity must have a valid Unix time"
    if date_time_format is not None and (
        not isinstance(date_time_format, str) or not DATE_TIME_FORMAT.fullmatch(date_time_format)
    ):
        return f"invalid date_time format {date_time_format!r}"
    return None


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, Telegram's unit for entity offsets (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


class HTMLError(Exception):
    """The text is not Telegram HTML; the message says where, in Telegram's words."""


@dataclass
class _OpenTag:
    name: str
    offset: int
    attrs: dict[str, str | None] = field(default_factory=dict)
    language: str | None = None


class _TelegramHTML(HTMLParser):
    """Validates Telegram's HTML subset, collecting the visible text and its entities."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[dict[str, Any]] = []
        self.open_tags: list[_OpenTag] = []
        self.line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self.line_starts.append(index + 1)

    def _offset(self, extra: int = 0) -> int:
        line, column = self.getpos()
        index = self.line_starts[line - 1] + column + extra
        return len(self.source[:index].encode())

    def _append(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_length(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            raise HTMLError(f'Unsupported start tag "{tag}" at byte offset {self._offset()}')
        if tag == "span" and ("class", "tg-spoiler") not in attrs:
            raise HTMLError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._offset()}'
            )
        if tag == "tg-time":
            values = dict(attrs)
            unix = values.get("unix") or ""
            problem = date_time_problem(int(unix) if unix.isdigit() else None, values.get("format"))
            if problem is not None:
                raise HTMLError(f"{problem} at byte offset {self._offset()}")
        self.open_tags.append(_OpenTag(tag, self.length, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags:
            raise HTMLError(f"Unexpected end tag at byte offset {self._offset()}")
        if self.open_tags[-1].name != tag:
            raise HTMLError(
                f"Unmatched end tag at byte offset {self._offset()}, "
                f'expected "</{self.open_tags[-1].name}>", found "</{tag}>"'
            )
        self._close(self.open_tags.pop())

    def _close(self, tag: _OpenTag) -> None:
        length = self.length - tag.offset
        parent = self.open_tags[-1] if self.open_tags else None
        css = tag.attrs.get("class") or ""
        if tag.name == "code" and parent is not None and parent.name == "pre":
            # <pre><code class="language-x"> is one "pre" entity with a language, as Telegram has it
            if css.startswith("language-"):
                parent.language = css.removeprefix("language-")
            return
        if length == 0 or (tag.name == "a" and not tag.attrs.get("href")):
            return  # Telegram drops empty entities and links without a target
        kind = ENTITY_TYPES[tag.name]
        if tag.name == "blockquote" and "expandable" in tag.attrs:
            kind = "expandable_blockquote"
        entity: dict[str, Any] = {"type": kind, "offset": tag.offset, "length": length}
        if tag.name == "a":
            entity["url"] = tag.attrs["href"]
        if tag.language:
            entity["language"] = tag.language
        if kind == "date_time":
            entity["unix_time"] = int(tag.attrs["unix"] or "")
            if tag.attrs.get("format"):
                entity["date_time_format"] = tag.attrs["format"]
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        if "<" in data:
            offset = self._offset(data.index("<"))
            raise HTMLError(f"Can't find end of the tag at byte offset {offset}")
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        self._append(HTML_ENTITIES.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            self._append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))
        except ValueError as exc:
            raise HTMLError(f"Invalid character reference at byte offset {self._offset()}") from exc

    def handle_comment(self, data: str) -> None:
        raise HTMLError(f'Unsupported start tag "!" at byte offset {self._offset()}')

    handle_pi = unknown_decl = handle_comment

    def handle_decl(self, decl: str) -> None:
        self.handle_comment(decl)

    def visible_text(self) -> str:
        """What Telegram shows (and counts) of the source; ``HTMLError`` if it refuses it."""
        self.feed(self.source)
        self.close()
        if self.open_tags:
            tag = self.open_tags[-1].name
            raise HTMLError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return "".join(self.parts)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """The visible text of Telegram HTML and its entities; ``HTMLError`` if Telegram refuses it."""
    parser = _TelegramHTML(source)
    text = parser.visible_text()
    order = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"], PRIORITY[e["type"]]))
    return text, order
