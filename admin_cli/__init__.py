"""The headless admin commands (``mfa-tui admin ...``): no terminal UI, usable from scripts and cron.

A front end beside ``tui``: it parses the command line, calls ``mfa`` for every decision and prints
what ``mfa`` returns. ``users`` holds the account commands, ``mfa`` the MFA process commands,
``check`` the host check and ``output`` the printing, the progress printer and the exit codes.
Textual is never imported here, so the commands start quickly and need no TTY.
"""

from __future__ import annotations

import argparse

from admin_cli import audit as audit_commands
from admin_cli import check as check_commands
from admin_cli import mfa as mfa_commands
from admin_cli import users as user_commands
from admin_cli.output import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, err
from mfa import audit_log
from mfa.accounts import AccountError
from mfa.config import Config
from mfa.services import StoreError, open_services

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_UNUSABLE", "add_parsers", "run"]


def add_parsers(admin: argparse.ArgumentParser) -> None:
    """Add every admin command to the ``admin`` parser."""
    commands = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    user_commands.add_parsers(commands)
    mfa_commands.add_parsers(commands)
    check_commands.add_parsers(commands)
    audit_commands.add_parsers(commands)


async def run(config: Config, args: argparse.Namespace) -> int:
    """Run the parsed command against the configured database; returns the exit code."""
    without_database = getattr(args, "without_database", None)
    if without_database is not None:  # admin check: it must not create what it checks
        return int(await without_database(config, args))
    try:
        services = await open_services(config)
    except StoreError as error:
        err(f"mfa-tui: {error}")
        return EXIT_UNUSABLE
    try:
        # Old audit events go before any command runs (bounded; see mfa.audit_log.prune).
        await audit_log.prune(services)
        return await args.handler(services, args)
    except AccountError as error:
        err(f"mfa-tui: {error}")
        return EXIT_FAILED
    except StoreError as error:  # busy past every retry, a full disk, a read-only file
        err(f"mfa-tui: {error}")
        return EXIT_UNUSABLE
    finally:
        await services.close()
