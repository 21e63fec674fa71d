"""Every test gets its own secret key (as OTKLIK_SECRET_KEY, which subprocesses inherit), so that
no test writes a key file into the working directory's var/."""

import pytest
from cryptography.fernet import Fernet


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("OTKLIK_SECRET_KEY", key)
    return key
