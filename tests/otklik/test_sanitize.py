"""Any str comes out storable: UTF-8 encodable, no NUL, no control characters but tab and line
breaks; any JSON-ish value comes out as strict JSON PostgreSQL takes. Ordinary text is untouched."""

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from otklik.sanitize import clean_json, clean_text, clip

# Every code point, surrogates included (hypothesis leaves them out unless told: exclude_categories=()).
# The characters that break stores are drawn often: among 1.1 million code points they would be rare.
any_text = st.text(alphabet=st.sampled_from("\x00\ud800\udbff\udc00\udfff\x1b\x85")
                   | st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def storable(value: str) -> bool:
    value.encode("utf-8")  # raises on a lone surrogate
    return FORBIDDEN.search(value) is None


@given(any_text)
def test_any_text_comes_out_storable_and_stays_so(value):
    out = clean_text(value)
    assert storable(out)
    assert clean_text(out) == out  # idempotent: the update path compares cleaned texts
    assert len(out) <= len(value)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs"))))
def test_ordinary_text_is_untouched(value):
    assert clean_text(value) == value


json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    | st.tuples(children, children),
    max_leaves=30)


@given(json_ish)
def test_any_json_comes_out_strict_storable_json(value):
    out = clean_json(value)
    dumped = json.dumps(out, allow_nan=False, ensure_ascii=False)  # PostgreSQL's json refuses NaN
    dumped.encode("utf-8")
    assert "\x00" not in dumped and "\\u0000" not in dumped
    assert clean_json(out) == out


def test_examples():
    assert clean_text("a\x00b") == "a\ufffdb"
    assert clean_text("x\ud800y") == "x\ufffdy"
    assert clean_text("\ud83d\ude00") == "😀"  # a pair that arrived as two code points is joined
    assert clean_text("строка\r\n\tдальше\x07\x85") == "строка\r\n\tдальше"
    assert clip("я" * 10, 3) == "яяя" and clip(None, 3) is None
    assert clean_json({1: (1.5, float("-inf"))}) == {"1": [1.5, "-inf"]}
    deep: list = []
    for _ in range(500):
        deep = [deep]
    json.dumps(clean_json(deep))  # cut at MAX_DEPTH instead of blowing the stack later
