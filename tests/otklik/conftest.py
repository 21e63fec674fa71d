"""Every test gets its own secret key (as OTKLIK_SECRET_KEY, which subprocesses inherit), so that
no test writes a key file into the working directory's var/."""

import pytest
from cryptography.fernet import Fernet


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OTKLIK_SECRET_KEY", key)
    return key


@pytest.fixture
def mail_config(tmp_path, monkeypatch):
    """Settings with e-mail on (a port nothing listens at): for tests that write staff notes and
    never send them (tests/otklik/test_notify_*.py)."""
    from otklik.settings import get_settings

    path = tmp_path / "otklik.toml"
    path.write_text('profile = "severny"\n[mail]\nhost = "127.0.0.1"\nport = 2525\n', encoding="utf-8")
    monkeypatch.setenv("OTKLIK_CONFIG", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()
