"""The ``mfa-tui`` command: the terminal UI, the demo, and the headless ``admin`` commands.

Headless commands never import Textual, so scripts and cron jobs start quickly and need no TTY.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from mfa import admin
from mfa.accounts import AccountError
from mfa.config import Config, ConfigError, load_config
from mfa.services import open_services
from store import StoreError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mfa-tui",
        description="Multi-factor authentication for your business subscription.",
    )
    parser.add_argument("--config", metavar="FILE", help="configuration file (TOML)")
    parser.add_argument("--db", metavar="FILE", help="database file (overrides the configuration)")
    parser.add_argument(
        "--demo", action="store_true", help="run on a seeded demo database with a built-in mail sink"
    )
    parser.add_argument("--reset", action="store_true", help="with --demo: start the demo over")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    admin_parser = commands.add_parser("admin", help="headless administration (no terminal UI)")
    admin.add_parsers(admin_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"mfa-tui: {error}", file=sys.stderr)
        return admin.EXIT_UNUSABLE
    if args.db:
        config = config.with_database(args.db)
    if args.demo:
        from mfa.demo import demo_config  # its own files, never the configured ones

        config = demo_config(config, args.db)
    if args.command == "admin":
        return asyncio.run(_run_admin(config, args))
    if args.reset and not args.demo:
        parser.error("--reset goes with --demo")
    from tui.app import run_app  # Textual is imported only for the terminal UI.

    return run_app(config, demo=args.demo, reset=args.reset)


async def _run_admin(config: Config, args: argparse.Namespace) -> int:
    try:
        services = await open_services(config)
    except StoreError as error:
        print(f"mfa-tui: {error}", file=sys.stderr)
        return admin.EXIT_UNUSABLE
    try:
        return await args.handler(services, args)
    except AccountError as error:
        print(f"mfa-tui: {error}", file=sys.stderr)
        return admin.EXIT_FAILED
    finally:
        await services.close()


if __name__ == "__main__":
    sys.exit(main())
