"""Each connector's options, checked by the real `otklik config check` / `otklik sources check`: a
misspelt key (with "did you mean"), a value of the wrong type (saying what is expected), a missing
required option or secret, a club-prefixed id — each with the file and the line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from connectors.options import SourceOptions, options_model
from connectors.registry import CONNECTORS
from otklik.cli import main

# platform -> (valid options, a misspelt key and the key meant, an option and a value of the wrong type)
CASES = {
    "telegram": ({}, ("pol_timeout", "poll_timeout"), ("poll_timeout", '"soon"')),
    "vk": ({"group_id": "218000001"}, ("groupid", "group_id"), ("wait", '"long"')),
    "ok": ({"group_id": '"70000000000001"', "application_key": '"CBA"'}, ("aplication_key", "application_key"),
           ("rps", '"fast"')),
    "max": ({}, ("chat_id", "chat_ids"), ("limit", '"many"')),
    "pos": ({}, ("page_sise", "page_size"), ("page_size", '"big"')),
    "kamchatka": ({}, ("web_ur", "web_url"), ("limit", "[1]")),
    "kuzbass_online": ({"executor": '"Администрация"'}, ("executer", "executor"), ("take_into_work", '"maybe"')),
    "incident_management": ({}, ("limits", "limit"), ("limit", '"all"')),
    "email": ({"host": '"smtp.example.org"'}, ("hots", "host"), ("port", '"smtp"')),
}


def test_every_platform_declares_its_options():
    assert set(CASES) == set(CONNECTORS)
    for platform in CONNECTORS:
        model = options_model(platform)
        assert issubclass(model, SourceOptions)
        assert model.model_config.get("extra") == "forbid"


def config_check(tmp_path, monkeypatch, capsys, text: str) -> tuple[int, list[str]]:
    path = tmp_path / "otklik.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(path))
    monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path / "var"))
    code = main(["config", "check"])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return code, out.err.replace(str(path), "otklik.toml").splitlines()


def source(platform: str, options: dict[str, str], name: str = "src") -> str:
    lines = ["[[sources]]", f'name = "{name}"', f'platform = "{platform}"', "[sources.options]"]
    return "\n".join(lines + [f"{k} = {v}" for k, v in options.items()]) + "\n"


@pytest.mark.parametrize("platform", sorted(CASES))
def test_misspelt_option_says_which_was_meant(platform, tmp_path, monkeypatch, capsys):
    valid, (typo, meant), _ = CASES[platform]
    code, lines = config_check(tmp_path, monkeypatch, capsys, source(platform, {**valid, typo: "1"}))
    assert code == 1
    line = 5 + len(valid)  # the typo is the last line of the table
    assert (f"otklik.toml:{line}: [[sources]] \"src\" options: unknown setting {typo!r}: did you mean {meant!r}?"
            in lines), lines


@pytest.mark.parametrize("platform", sorted(CASES))
def test_wrong_type_says_what_is_expected(platform, tmp_path, monkeypatch, capsys):
    valid, _, (key, bad) = CASES[platform]
    code, lines = config_check(tmp_path, monkeypatch, capsys, source(platform, {**valid, key: bad}))
    assert code == 1
    mine = [x for x in lines if f": [[sources]] \"src\" options: {key} must be " in x]
    assert mine, lines
    assert mine[0].startswith(f"otklik.toml:{4 + len(valid) + (key not in valid)}:")
    assert "Input should be" not in mine[0]  # plain words, not pydantic's


@pytest.mark.parametrize("platform", sorted(p for p in CASES if options_model(p).REQUIRED_SECRETS))
def test_missing_required_secret_is_named_with_where_to_put_it(platform, tmp_path, monkeypatch, capsys):
    valid, _, _ = CASES[platform]
    code, lines = config_check(tmp_path, monkeypatch, capsys, source(platform, valid, name="city"))
    assert code == 1
    key = next(iter(options_model(platform).REQUIRED_SECRETS))
    env = f"OTKLIK_SECRET_CITY_{key.upper()}"
    assert any(f"source city: the required secret {key!r} is not found; set {env}" in x for x in lines), lines
    monkeypatch.setenv(env, "x")  # found: that problem is gone
    _, lines = config_check(tmp_path, monkeypatch, capsys, source(platform, valid, name="city"))
    assert not any(f"secret {key!r}" in x for x in lines), lines


def test_missing_required_option(tmp_path, monkeypatch, capsys):
    code, lines = config_check(tmp_path, monkeypatch, capsys, source("ok", {"application_key": '"CBA"'}))
    assert code == 1
    assert any("otklik.toml:4: [[sources]] \"src\" options: 'group_id' is required: the group's number" in x
               for x in lines), lines


@pytest.mark.parametrize("value", ['"club218000001"', '"public218000001"', "-218000001"])
def test_vk_group_id_must_be_the_number(value, tmp_path, monkeypatch, capsys):
    code, lines = config_check(tmp_path, monkeypatch, capsys, source("vk", {"group_id": value}))
    assert code == 1
    assert any(x.startswith("otklik.toml:5: ") and "group_id must be the community's number, e.g. 218000001" in x
               for x in lines), lines


def test_typos_in_sources_and_top_level(tmp_path, monkeypatch, capsys):
    text = ('http_prot = 8700\n[[sources]]\nname = "tg"\nplatform = "telegram"\npoll_intervall = 2\n'
            '[notify]\ntelegram_chat = "-100"\n')
    code, lines = config_check(tmp_path, monkeypatch, capsys, text)
    assert code == 1
    assert lines[:3] == [
        "otklik.toml:1: unknown setting 'http_prot': did you mean 'http_port'?",
        "otklik.toml:5: [[sources]] \"tg\": unknown setting 'poll_intervall': did you mean 'poll_interval'?",
        "otklik.toml:7: notify: unknown setting 'telegram_chat': did you mean 'telegram_chat_id'?",
    ]


def test_the_daemon_refuses_bad_options_in_one_clear_line(tmp_path):
    """`otklik run` (and every command) loads the same settings: a bad option stops it at start,
    with the line, instead of failing on the first poll."""
    path = tmp_path / "otklik.toml"
    path.write_text(source("vk", {"group_id": '"club218000001"'}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(OTKLIK_CONFIG=str(path), OTKLIK_VAR_DIR=str(tmp_path / "var"))
    r = subprocess.run([sys.executable, "-m", "otklik", "sources", "check"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{path}:5: [[sources]] \"src\" options: group_id must be the community's number" in r.stderr


def test_sources_check_says_what_it_checked_and_passes_without_optional_tokens(tmp_path, monkeypatch, capsys):
    """A healthy VK source with only the community token: the optional service and user tokens
    are reported as absent with what is lost, and the check still passes."""
    from sandbox.runner import serving
    from sandbox.vk.emulator import VkEmulator

    emulator = VkEmulator()
    with serving(emulator) as server:
        path = tmp_path / "otklik.toml"
        path.write_text(f'[[sources]]\nname = "vk_city"\nplatform = "vk"\nbase_url = "{server.url}"\n'
                        f'[sources.options]\ngroup_id = {emulator.demo_options()["group_id"]}\n', encoding="utf-8")
        monkeypatch.setenv("OTKLIK_CONFIG", str(path))
        monkeypatch.setenv("OTKLIK_VAR_DIR", str(tmp_path / "var"))
        monkeypatch.setenv("OTKLIK_SECRET_VK_CITY_TOKEN", emulator.demo_secrets()["token"])
        assert main(["sources", "check"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert out[0] == "vk_city (vk): OK (2 optional thing(s) missing)"
        assert "  secret token: found" in out
        assert any(x.startswith("  secret user_token: absent, optional (posting replies in board topics") for x in out)
        assert any(x.startswith("  platform: checked groups.getById") and x.endswith(": OK") for x in out), out
        assert any(x.startswith("  optional: no user_token") for x in out)

        monkeypatch.setenv("OTKLIK_SECRET_VK_CITY_TOKEN", "revoked-or-wrong")  # a required thing refused
        assert main(["sources", "check"]) == 1
        out = capsys.readouterr().out
        assert out.startswith("vk_city (vk): FAILED")

        monkeypatch.delenv("OTKLIK_SECRET_VK_CITY_TOKEN")  # missing: named, and the platform not bothered
        assert main(["sources", "check"]) == 1
        out = capsys.readouterr().out
        assert "secret token: MISSING, required" in out and "OTKLIK_SECRET_VK_CITY_TOKEN" in out
        assert "platform: not contacted (a required secret is missing)" in out
