"""HTML as the bots' APIs take it (Telegram's parse_mode=HTML, MAX's format=html): a few tags, and
every other `<`, `>` and `&` written as an entity. The emulators refuse a text that breaks this,
as the platforms do ("can't parse entities"), so a sender that forgets to escape is caught.

`check` returns None for good markup or the description of the first fault; `plain` is the text a
person sees (tags gone, entities read)."""

from __future__ import annotations

import html
import re

TAGS = frozenset({"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                  "blockquote", "tg-spoiler", "span"})
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s+[a-zA-Z-]+=\"[^\"<>]*\")*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


def check(text: str) -> str | None:
    open_tags: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        fault = _check_plain(text[pos:m.start()], pos)
        if fault:
            return fault
        closing, name = m.group(1) == "/", m.group(2).lower()
        if name not in TAGS:
            return f"Unsupported start tag \"{name}\" at byte offset {m.start()}"
        if closing:
            if not open_tags or open_tags[-1] != name:
                return f"Unexpected end tag at byte offset {m.start()}"
            open_tags.pop()
        else:
            open_tags.append(name)
        pos = m.end()
    fault = _check_plain(text[pos:], pos)
    if fault:
        return fault
    if open_tags:
        return f"Can't find end tag corresponding to start tag \"{open_tags[-1]}\""
    return None


def _check_plain(chunk: str, offset: int) -> str | None:
    for i, ch in enumerate(chunk):
        if ch in "<>":
            return f"Unsupported start tag at byte offset {offset + i}" if ch == "<" else \
                f"Character '>' is reserved at byte offset {offset + i}"
        if ch == "&" and not _ENTITY.match(chunk, i):
            return f"Unsupported HTML entity at byte offset {offset + i}"
    return None


def plain(text: str) -> str:
    return html.unescape(_TAG.sub("", text))


def links(text: str) -> list[str]:
    """The href of every <a> in the text, entities read."""
    return [html.unescape(h) for h in re.findall(r"<a\s+href=\"([^\"]*)\"\s*>", text)]
