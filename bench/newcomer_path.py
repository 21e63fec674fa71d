"""How long a newcomer takes from a fresh clone to the first reply on an emulator, following the
README: `git clone`, `make install`, then `otklik init --sandbox`, `otklik sandbox`, `otklik worker`,
`otklik run`, a citizen's message, a draft and an approval through the CLI, the reply on the emulator
(the steps of tests/otklik/test_newcomer.py, run in the clone).

    python bench/newcomer_path.py [--repo PATH]

Prints the seconds of each stage and the total. pip's cache is used as a newcomer's second
install would; the first install on a machine also downloads the wheels."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(label: str, argv: list[str], cwd: Path) -> float:
    started = time.monotonic()
    r = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    took = time.monotonic() - started
    if r.returncode != 0:
        sys.exit(f"{label} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    print(f"{label:<48} {took:7.1f} s", flush=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "otklik"
        total = timed("git clone", ["git", "clone", "--quiet", str(args.repo), str(clone)], Path(tmp))
        total += timed("make install", ["make", "install"], clone)
        total += timed("init --sandbox … reply on the emulator",
                       [str(clone / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/otklik/test_newcomer.py"], clone)
        print(f"{'clone to first reply':<48} {total:7.1f} s")


if __name__ == "__main__":
    main()
