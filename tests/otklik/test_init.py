"""`otklik init`: a commented otklik.toml that loads, lists every option of the chosen connectors,
and leaves only the secrets to fill in; never overwrites a file unasked."""

from __future__ import annotations

import tomllib

from connectors.options import options_model
from otklik.cli import main


def test_init_for_chosen_platforms(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("OTKLIK_CONFIG", raising=False)
    assert main(["init", "--platforms", "vk,telegram"]) == 0
    text = (tmp_path / "otklik.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert [s["platform"] for s in data["sources"]] == ["vk", "telegram"]
    for platform in ("vk", "telegram"):
        for key in options_model(platform).model_fields:
            assert f"# {key} = " in text  # every option shown, commented, with its default
    assert "OTKLIK_SECRET_VK_MAIN_TOKEN" in text
    capsys.readouterr()
    assert main(["config", "check"]) == 1  # only the secrets are missing
    problems = capsys.readouterr().err.splitlines()
    assert problems and all("required secret" in p for p in problems), problems

    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert "exists; --force overwrites it" in err
    assert tomllib.loads((tmp_path / "otklik.toml").read_text(encoding="utf-8")) == data  # untouched


def test_init_refuses_an_unknown_platform(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--platforms", "vkontakte"]) == 2
    assert "no platform vkontakte; known: telegram, vk" in capsys.readouterr().err
    assert not (tmp_path / "otklik.toml").exists()


def test_the_readme_configuration_examples_pass_config_check(tmp_path, monkeypatch, capsys):
    """What the README shows to copy is a configuration `config check` accepts (no duplicated key,
    no option the connectors do not know)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    assert blocks
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TG_BOT_TOKEN", "123:made-up")
    monkeypatch.setenv("SMTP_PASSWORD", "made-up")
    monkeypatch.setenv("STAFF_TG_TOKEN", "456:made-up")  # the staff bot's ([staff_bot])
    monkeypatch.setenv("STAFF_MAX_TOKEN", "made-up")
    monkeypatch.setenv("OTKLIK_S3_KEY_ID", "made-up")
    monkeypatch.setenv("OTKLIK_S3_SECRET", "made-up")
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.toml"
        path.write_text(block, encoding="utf-8")
        monkeypatch.setenv("OTKLIK_CONFIG", str(path))
        assert main(["config", "check"]) == 0, capsys.readouterr().err
