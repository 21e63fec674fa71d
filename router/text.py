"""Text preparation shared by the rules and the model: HTML stripped, lower case, ё → е."""

from __future__ import annotations

import html
import re

TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[а-яa-z0-9]+")


def clean(text: str) -> str:
    text = html.unescape(TAG.sub(" ", text))
    return re.sub(r"\s+", " ", text).strip()


def normalize(text: str) -> str:
    return clean(text).lower().replace("ё", "е")


def words(text: str) -> list[str]:
    return WORD.findall(text)
