import importlib

from otklik.cli import COMMAND_MODULES, build_parser


def test_every_command_module_exists_and_registers():
    for name in COMMAND_MODULES:
        assert hasattr(importlib.import_module(name), "register"), name
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for expected in ("run", "worker", "demo", "db", "config", "deliveries", "normalize", "moderate", "route",
                     "deadlines", "users", "sources", "sandbox", "eval", "router"):
        assert expected in commands, expected
