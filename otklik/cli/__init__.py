"""The `otklik` command. Each command group is a module with `register(subparsers)`;
adding a command touches its module and one line of COMMAND_MODULES."""

from __future__ import annotations

import argparse
import importlib
import sys

from otklik.exceptions import OtklikError

COMMAND_MODULES = (
    "otklik.cli.core",
    "otklik.cli.init",
    "otklik.cli.admin",
    "otklik.cli.directory",  # after admin: it adds to admin's `users` group
    "otklik.cli.login",
    "otklik.cli.cases",
    "otklik.cli.demo",
    "otklik.cli.deliveries",
    "otklik.cli.quarantine",
    "otklik.cli.normalize",
    "otklik.cli.moderate",
    "otklik.cli.eval",
    "otklik.cli.route",
    "otklik.cli.deadlines",
    "otklik.cli.sandbox",
    "otklik.cli.stop",
    "otklik.cli.backup",
    "otklik.cli.forecast",
    "otklik.cli.categories",
    "otklik.cli.report",  # after directory: it adds `users email`
    "otklik.cli.notify",
    "otklik.cli.staffbot",  # after notify: it adds `link`/`unlink`/`bot` to `notify`
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otklik", description="otklik: citizens' messages from social networks and feedback platforms, "
        "moderated, routed and answered on time.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            # A command group not installed in this build; tests/otklik/test_cli.py proves that
            # every listed module exists in the repository.
            print(f"otklik: command module {name} is missing", file=sys.stderr)
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except OtklikError as exc:
        # One clear line for the person at the terminal, never a traceback for expected failures.
        print(f"otklik: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
