from pathlib import Path

import pytest

from otklik.exceptions import ConfigError
from otklik.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "otklik.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_errors_name_file_and_line(tmp_path):
    path = write(tmp_path, 'profile = "zarechny"\nhttp_port = 99999\n\n[[sources]]\nname = "tg"\n'
                           'platform = "telegram"\n\n[[sources]]\nname = "vk"\nplatform = "vkontakte"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    lines = str(err.value).splitlines()
    assert f"{path}:2: http_port must be at most 65535, not 99999" in lines[0]
    assert f'{path}:10: [[sources]] "vk": platform must be one of' in lines[1]


def test_secret_in_file_is_refused(tmp_path):
    path = write(tmp_path, '[[sources]]\nname = "tg"\nplatform = "telegram"\nsecrets = {token = "123:abc"}\n')
    with pytest.raises(ConfigError, match="never the secret itself"):
        load_settings(path)


def test_invalid_toml_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "profile = \n"))


def test_secrets_from_env_file_and_secrets_dir(tmp_path, monkeypatch):
    secret_file = tmp_path / "ok_secret"
    secret_file.write_text("s3cret\n", encoding="utf-8")
    secrets_dir = tmp_path / "creds"
    secrets_dir.mkdir()
    (secrets_dir / "vk.service_token").write_text("svc", encoding="utf-8")
    path = write(tmp_path, f'[[sources]]\nname = "vk"\nplatform = "vk"\n'
                           f'secrets = {{token = "env:MY_VK_TOKEN", app_secret = "file:{secret_file}"}}\n')
    monkeypatch.setenv("MY_VK_TOKEN", "tok")
    monkeypatch.setenv("OTKLIK_SECRET_VK_USER_TOKEN", "usr")
    monkeypatch.setenv("OTKLIK_SECRETS_DIR", str(secrets_dir))
    settings = load_settings(path)
    cfg = settings.resolve_source(settings.sources[0])
    got = {k: v.get_secret_value() for k, v in cfg.secrets.items()}
    assert got == {"token": "tok", "app_secret": "s3cret", "user_token": "usr", "service_token": "svc"}
    assert "s3cret" not in repr(cfg) and "svc" not in repr(cfg)  # secrets never print


def test_environment_overrides_file(tmp_path, monkeypatch):
    path = write(tmp_path, 'profile = "zarechny"\n')
    monkeypatch.setenv("OTKLIK_PROFILE", "tashtagol")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings(path)
    assert settings.profile == "tashtagol"
    assert settings.database_url == "postgresql://u@h/db"


def test_trusted_proxies_from_file_and_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "otklik.toml"
    cfg.write_text('trusted_proxies = ["10.0.0.0/8", "::1"]\n', encoding="utf-8")
    assert load_settings(cfg).trusted_proxies == ["10.0.0.0/8", "::1"]
    monkeypatch.setenv("OTKLIK_TRUSTED_PROXIES", "127.0.0.1, 192.168.0.0/16")
    assert load_settings(cfg).trusted_proxies == ["127.0.0.1", "192.168.0.0/16"]
    monkeypatch.setenv("OTKLIK_TRUSTED_PROXIES", "nginx.local")
    with pytest.raises(ConfigError, match="trusted_proxies.*nginx.local"):
        load_settings(cfg)
    monkeypatch.delenv("OTKLIK_TRUSTED_PROXIES")
    assert load_settings(tmp_path / "otklik.toml").trusted_proxies == ["10.0.0.0/8", "::1"]
