"""The account commands an admin uses when someone is stuck: ``mfa-tui admin users
show|unlock|reset-mfa|disable|enable EMAIL``.

Each calls ``mfa.admin_users`` (the rules, the audit event) and prints the user as it is
afterwards; stored text is printed through ``output.shown``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from admin_cli.output import EXIT_OK, out, shown
from mfa import admin_users
from mfa.admin_users import UserSummary
from mfa.services import Services


def add_parsers(user_commands: Any) -> None:
    """Add the commands to ``users``' sub-commands (an argparse subparsers action)."""
    show = user_commands.add_parser("show", help="show one user: MFA state, lock, status")
    show.add_argument("email")
    show.set_defaults(handler=_show)

    for name, handler, text in (
        ("unlock", _unlock, "clear a user's failure count and any wait"),
        ("reset-mfa", _reset_mfa, "remove a user's methods and recovery codes (set up again)"),
        ("disable", _disable, "stop a user from signing in"),
        ("enable", _enable, "let a disabled user sign in again"),
    ):
        command = user_commands.add_parser(name, help=text)
        command.add_argument("email")
        command.set_defaults(handler=handler)


def show_lines(user: UserSummary) -> list[str]:
    """``users show``'s lines: one ``name: value`` per fact."""
    if user.locked:
        lock = f"locked after {user.failed_attempts} failures (unlock with 'users unlock')"
    elif user.waiting_until is not None:
        until = datetime.fromtimestamp(user.waiting_until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lock = f"waiting until {until} after {user.failed_attempts} failures"
    else:
        lock = f"no ({user.failed_attempts} failures)" if user.failed_attempts else "no"
    return [
        f"email: {shown(user.email)}",
        f"name: {shown(user.display_name)}",
        f"role: {user.role}",
        f"status: {user.status}",
        f"mfa: {user.mfa_state}",
        f"recovery codes left: {user.recovery_codes_left}",
        f"locked: {lock}",
    ]


def _print(user: UserSummary) -> None:
    for line in show_lines(user):
        out(line)


async def _show(services: Services, args: argparse.Namespace) -> int:
    _print(await admin_users.find_user(services, args.email))
    return EXIT_OK


async def _unlock(services: Services, args: argparse.Namespace) -> int:
    user = await admin_users.find_user(services, args.email)
    user = await admin_users.unlock(services, user.id)
    out(f"Unlocked {shown(user.email)}.")
    return EXIT_OK


async def _reset_mfa(services: Services, args: argparse.Namespace) -> int:
    user = await admin_users.find_user(services, args.email)
    user = await admin_users.reset_mfa(services, user.id)
    then = "sets up MFA again at the next sign-in" if user.mfa_required else "has no MFA methods"
    out(f"Reset MFA for {shown(user.email)}: the user {then}.")
    return EXIT_OK


async def _disable(services: Services, args: argparse.Namespace) -> int:
    user = await admin_users.find_user(services, args.email)
    user = await admin_users.set_disabled(services, user.id, True)
    out(f"Disabled {shown(user.email)}.")
    return EXIT_OK


async def _enable(services: Services, args: argparse.Namespace) -> int:
    user = await admin_users.find_user(services, args.email)
    user = await admin_users.set_disabled(services, user.id, False)
    out(f"Enabled {shown(user.email)}.")
    return EXIT_OK
