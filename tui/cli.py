"""The ``mfa-tui`` command: the terminal UI, the demo, the gate, and the headless ``admin`` commands.

The command line is read in two steps so each path loads only what it needs: the top level (a
handful of options and an optional ``admin`` or ``gate``) is parsed first; the admin commands'
parser is built, and ``admin_cli`` imported, only when the command is ``admin``. The terminal UI
never pays for the admin parser, and the headless commands never import Textual (scripts and cron
start quickly and need no TTY).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from mfa.config import ConfigError, load_config

EXIT_UNUSABLE = 2
"""The command could not run at all (a bad configuration, an unusable database)."""


MAX_DEMO_USERS = 2_000_000
"""The most users ``--demo --users`` seeds (a bound on a mistyped number, not on the product)."""


def build_parser() -> argparse.ArgumentParser:
    """The top level: the UI's options and an optional ``admin`` or ``gate`` followed by its own
    arguments."""
    parser = argparse.ArgumentParser(
        prog="mfa-tui",
        description="Multi-factor authentication for your business subscription.",
        epilog="'mfa-tui admin --help' lists the headless administration commands; "
        "'mfa-tui gate -- COMMAND [ARGS ...]' signs in with MFA, then runs COMMAND in place of "
        "mfa-tui (for sshd's ForceCommand).",
    )
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument("--db", metavar="FILE", help="database file (overrides the configuration)")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="run on a seeded demo database with a built-in mail sink",
    )
    parser.add_argument("--reset", action="store_true", help="with --demo: start the demo over")
    parser.add_argument(
        "--users", type=_user_count, metavar="N",
        help="with --demo: seed N users in all (e.g. 200000, so the MFA process can be watched)",
    )  # fmt: skip
    parser.add_argument(
        "command", nargs="?", choices=["admin", "gate"], metavar="admin ... | gate -- COMMAND",
        help="headless administration (no terminal UI), or the sign-in gate for ForceCommand",
    )  # fmt: skip
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _user_count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_DEMO_USERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_DEMO_USERS:,}")
    return value


def build_admin_parser() -> argparse.ArgumentParser:
    """The ``admin`` commands' parser (imports ``admin_cli``, so only for ``mfa-tui admin``)."""
    import admin_cli

    parser = argparse.ArgumentParser(
        prog="mfa-tui admin", description="Headless administration (no terminal UI)."
    )
    admin_cli.add_parsers(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "admin":
        admin_args = build_admin_parser().parse_args(args.arguments)
    elif args.command == "gate":
        from tui import gate

        gate_args = gate.build_parser().parse_args(args.arguments)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"mfa-tui: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.db:
        config = config.with_database(args.db)
    if args.demo:
        from mfa.demo import demo_config  # its own files, never the configured ones

        config = demo_config(config, args.db)
    if args.command == "admin":
        import admin_cli

        return asyncio.run(admin_cli.run(config, admin_args))
    if args.reset and not args.demo:
        parser.error("--reset goes with --demo")
    if args.users is not None and not args.demo:
        parser.error("--users goes with --demo")
    from tui import lifecycle

    refused = lifecycle.refusal(os.environ, config, sys.stdin, sys.stdout)
    if refused is not None:
        print(refused, file=sys.stderr)
        return lifecycle.EXIT_UNUSABLE
    if args.command == "gate":
        return gate.run_gate(config, gate_args.gate_command, demo=args.demo, reset=args.reset)
    from tui.app import run_app  # Textual is imported only for the terminal UI.

    return run_app(config, demo=args.demo, reset=args.reset, demo_users=args.users)


if __name__ == "__main__":
    sys.exit(main())
