import pytest
from pydantic import BaseModel, Field

from otklik.datafile import load_model
from otklik.exceptions import ConfigError


class Item(BaseModel):
    name: str
    hours: float = Field(gt=0)


class Doc(BaseModel):
    items: list[Item]


def test_line_precise_errors(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("items:\n  - name: a\n    hours: 2\n  - name: b\n    hours: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{path}:5: items.1.hours: Input should be greater than 0"):
        load_model(path, Doc)


def test_yaml_syntax_error_has_line(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("items:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"d.yaml:\d+: invalid YAML"):
        load_model(path, Doc)


def test_not_utf8(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_bytes(b"items: []\n# " + "комментарий".encode("cp1251"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_model(path, Doc)


def test_impossible_date_is_a_clear_error(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("items: []\nwhen: 2026-13-01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid value"):
        load_model(path, Doc)
