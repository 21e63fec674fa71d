"""Invalid settings, an unreachable Redis or database, a corrupt var/: one clear line each."""

import os
import subprocess
import sys


def otklik(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "otklik", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=60)


def assert_one_clear_line(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert needle in result.stderr, result.stderr


def test_invalid_settings(tmp_path):
    cfg = tmp_path / "otklik.toml"
    cfg.write_text("http_port = -5\n", encoding="utf-8")
    r = otklik("config", "check", env={"OTKLIK_CONFIG": str(cfg)})
    assert_one_clear_line(r, f"{cfg}:1: http_port")


def test_unreachable_database():
    r = otklik("db", "upgrade", env={"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert_one_clear_line(r, "cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_unreachable_redis(tmp_path):
    r = otklik("worker", "--burst", env={"REDIS_URL": "redis://127.0.0.1:1/0", "OTKLIK_VAR_DIR": str(tmp_path)})
    assert_one_clear_line(r, "cannot reach Redis at redis://127.0.0.1:1/0")


def test_corrupt_var_dir(tmp_path):
    (tmp_path / "otklik.db").write_bytes(b"this is not a database, it was overwritten" * 100)
    r = otklik("db", "upgrade", env={"OTKLIK_VAR_DIR": str(tmp_path)})
    assert_one_clear_line(r, "is corrupt")
