"""Headless admin commands (``mfa-tui admin ...``): no terminal UI, usable from scripts and cron.

Results go to stdout, progress and problems to stderr; the exit code is 0 on success, 1 when the
command ran but something failed (bad rows, failed users), 2 when it could not run at all.
Passwords are read from a prompt on a terminal or from one line of stdin, never from argv.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from mfa import accounts
from mfa.services import Services
from store import accounts as account_store
from store.models import User

Handler = Callable[[Services, argparse.Namespace], Awaitable[int]]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNUSABLE = 2


def read_password(prompt: str = "Password: ", stdin: TextIO | None = None) -> str:
    """Ask on a terminal (twice, without echo); read one line from stdin otherwise."""
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat the password: ") != first:
            raise accounts.AccountError("The two passwords differ.")
        return first
    line = stream.readline()
    if not line:
        raise accounts.AccountError("Expected the password on standard input.")
    return line.rstrip("\r\n")


def add_parsers(admin: argparse.ArgumentParser) -> None:
    """Add the account commands to the ``admin`` parser."""
    commands = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", help="create the subscription and its first admin")
    init.add_argument("--subscription", required=True, help="the subscription's name")
    init.add_argument("--email", required=True, help="the first admin's sign-in address")
    init.add_argument("--name", default="Administrator", help="the first admin's display name")
    init.add_argument(
        "--product", action="append", default=[], help="a product of the subscription (repeatable)"
    )
    init.set_defaults(handler=_init)

    users = commands.add_parser("users", help="list, add or import users")
    user_commands = users.add_subparsers(dest="users_command", metavar="COMMAND", required=True)

    add = user_commands.add_parser("add", help="add one user (password from a prompt or stdin)")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--role", choices=accounts.ROLES, default="user")
    add.add_argument("--subscription")
    add.add_argument(
        "--no-password", action="store_true", help="create the account without a password"
    )
    add.set_defaults(handler=_users_add)

    imp = user_commands.add_parser("import", help="import users from CSV (email,name,role[,password])")
    imp.add_argument("file", type=Path)
    imp.add_argument("--subscription")
    imp.set_defaults(handler=_users_import)

    lst = user_commands.add_parser("list", help="list users")
    lst.add_argument("--subscription")
    lst.set_defaults(handler=_users_list)

    set_email = user_commands.add_parser("set-email", help="change a user's sign-in address")
    set_email.add_argument("email", help="the current address")
    set_email.add_argument("new_email")
    set_email.set_defaults(handler=_users_set_email)

    set_password = user_commands.add_parser(
        "set-password", help="set a user's password (from a prompt or stdin)"
    )
    set_password.add_argument("email")
    set_password.set_defaults(handler=_users_set_password)

    from mfa import admin_mfa  # imported here: admin_mfa itself imports this module

    admin_mfa.add_parsers(commands)


def _out(text: str) -> None:
    print(text, file=sys.stdout, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _init(services: Services, args: argparse.Namespace) -> int:
    password = read_password("Password for the first admin: ")
    await accounts.create_subscription(services, args.subscription, args.product)
    subscription = await accounts.require_subscription(services, args.subscription)
    user, warning = await accounts.add_user(
        services, subscription, args.email, args.name, "admin", password
    )
    if warning:
        _err(f"warning: {warning}")
    _out(f"Created subscription {subscription.name} with admin {user.email}.")
    return EXIT_OK


async def _users_add(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    password = None if args.no_password else read_password()
    user, warning = await accounts.add_user(
        services, subscription, args.email, args.name, args.role, password
    )
    if warning:
        _err(f"warning: {warning} (MFA codes can't be emailed there)")
    _out(f"Added {user.email} ({user.role}).")
    return EXIT_OK


async def _users_import(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    report = await accounts.import_csv(services, subscription, args.file)
    for line in report.errors:
        _err(f"{args.file}: {line}")
    if report.errors:
        _err(f"Nothing imported: {len(report.errors)} row(s) need fixing.")
        return EXIT_FAILED
    for line in report.warnings:
        _err(f"warning: {args.file}: {line} (imported; MFA codes can't be emailed there)")
    _out(f"Imported {report.imported} user(s) into {subscription.name}.")
    return EXIT_OK


async def _users_list(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    users = await account_store.users_of(services.db, subscription.id)
    _out("email\tname\trole\tstatus\tmfa_required\temail_problem")
    for user in users:
        _out(
            "\t".join(
                [
                    user.email,
                    user.display_name,
                    user.role,
                    user.status,
                    "yes" if user.mfa_required else "no",
                    user.email_problem or "",
                ]
            )
        )
    return EXIT_OK


async def _user(services: Services, email: str) -> User:
    user = await account_store.user_by_email(services.db, email.strip())
    if user is None:
        raise accounts.AccountError(f"There is no account with the address {email}.")
    return user


async def _users_set_email(services: Services, args: argparse.Namespace) -> int:
    user = await _user(services, args.email)
    updated = await accounts.set_email(services, user.id, args.new_email)
    if updated.email_problem:
        _err(f"warning: {updated.email}: {updated.email_problem}")
    _out(f"{user.email} is now {updated.email}.")
    return EXIT_OK


async def _users_set_password(services: Services, args: argparse.Namespace) -> int:
    user = await _user(services, args.email)
    await accounts.set_password(services, user.id, read_password())
    _out(f"Password set for {user.email}.")
    return EXIT_OK
