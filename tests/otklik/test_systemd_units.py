"""The systemd units in the README: valid for `systemd-analyze verify` (where systemd is present),
and their ExecStart lines name commands `otklik` has."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otklik.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"
INSTALLED_AT = "/opt/otklik/.venv/bin/otklik"  # where the README's units expect the command


def units() -> dict[str, str]:
    """File name -> text of every unit in the README's ```ini blocks (each starts `# /etc/systemd/…`)."""
    found: dict[str, str] = {}
    for block in re.findall(r"```ini\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        parts = re.split(r"^# /etc/systemd/system/(\S+).*$", block, flags=re.M)
        found.update(zip(parts[1::2], parts[2::2], strict=True))
    return found


def test_the_readme_has_the_daemon_and_worker_units():
    assert set(units()) == {"otklik.service", "otklik-worker@.service"}


def test_units_start_commands_that_exist():
    commands = build_parser()._subparsers._group_actions[0].choices  # noqa: SLF001 - the CLI's own table
    for name, text in units().items():
        starts = re.findall(r"^ExecStart=(.+)$", text, re.M)
        assert starts, name
        for line in starts:
            argv = shlex.split(line)
            assert argv[0] == INSTALLED_AT, line
            assert argv[1] in commands, f"{name}: `otklik {argv[1]}` is not a command"
            build_parser().parse_args(argv[1:])  # and its options parse


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_units_pass_systemd_analyze_verify(tmp_path):
    otklik = Path(sys.prefix) / "bin" / "otklik"  # the same command, where this checkout installed it
    paths = []
    for name, text in units().items():
        path = tmp_path / name.replace("@.", "@1.")  # a template is verified as one of its instances
        path.write_text(text.replace(INSTALLED_AT, str(otklik)), encoding="utf-8")
        paths.append(str(path))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *paths], capture_output=True, text=True,
                       timeout=60)
    # Unknown keys and values are only warnings (exit 0): any line about our files is a failure.
    ours = [line for line in (r.stdout + r.stderr).splitlines() if str(tmp_path) in line or ".service" in line]
    assert r.returncode == 0 and not ours, r.stdout + r.stderr
