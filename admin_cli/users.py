"""The account commands: ``mfa-tui admin init`` and ``mfa-tui admin users add|import|list|...``.

Passwords are read from a prompt on a terminal or from one line of stdin, never from argv (where
``ps`` and the shell history would show them).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any, TextIO

from admin_cli import user_admin
from admin_cli.output import EXIT_FAILED, EXIT_OK, err, out
from mfa import accounts
from mfa.services import Services


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


def add_parsers(commands: Any) -> None:
    """Add ``init`` and ``users`` to the ``admin`` sub-commands (an argparse subparsers action)."""
    init = commands.add_parser("init", help="create the subscription and its first admin")
    init.add_argument("--subscription", required=True, help="the subscription's name")
    init.add_argument("--email", required=True, help="the first admin's sign-in address")
    init.add_argument("--name", default="Administrator", help="the first admin's display name")
    init.add_argument(
        "--product", action="append", default=[], help="a product of the subscription (repeatable)"
    )
    init.set_defaults(handler=_init)

    users = commands.add_parser("users", help="list, add, import, show, unlock or reset users")
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

    imp = user_commands.add_parser(
        "import", help="import users from CSV (email,name,role[,password])"
    )
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

    user_admin.add_parsers(user_commands)


async def _init(services: Services, args: argparse.Namespace) -> int:
    password = read_password("Password for the first admin: ")
    await accounts.create_subscription(services, args.subscription, args.product)
    subscription = await accounts.require_subscription(services, args.subscription)
    user, warning = await accounts.add_user(
        services, subscription, args.email, args.name, "admin", password
    )
    if warning:
        err(f"warning: {warning}")
    out(f"Created subscription {subscription.name} with admin {user.email}.")
    return EXIT_OK


async def _users_add(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    password = None if args.no_password else read_password()
    user, warning = await accounts.add_user(
        services, subscription, args.email, args.name, args.role, password
    )
    if warning:
        err(f"warning: {warning} (MFA codes can't be emailed there)")
    out(f"Added {user.email} ({user.role}).")
    return EXIT_OK


async def _users_import(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    report = await accounts.import_csv(services, subscription, args.file)
    for line in report.errors:
        err(f"{args.file}: {line}")
    if report.errors:
        err(f"Nothing imported: {len(report.errors)} row(s) need fixing.")
        return EXIT_FAILED
    for line in report.warnings:
        err(f"warning: {args.file}: {line} (imported; MFA codes can't be emailed there)")
    out(f"Imported {report.imported} user(s) into {subscription.name}.")
    return EXIT_OK


async def _users_list(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    out("email\tname\trole\tstatus\tmfa_required\temail_problem")
    for account in await accounts.accounts_of(services, subscription.id):
        columns = [
            account.email,
            account.display_name,
            account.role,
            account.status,
            "yes" if account.mfa_required else "no",
            account.email_problem or "",
        ]
        out("\t".join(columns))
    return EXIT_OK


async def _users_set_email(services: Services, args: argparse.Namespace) -> int:
    account = await accounts.require_account(services, args.email)
    updated = await accounts.set_email(services, account.id, args.new_email)
    if updated.email_problem:
        err(f"warning: {updated.email}: {updated.email_problem}")
    out(f"{account.email} is now {updated.email}.")
    return EXIT_OK


async def _users_set_password(services: Services, args: argparse.Namespace) -> int:
    account = await accounts.require_account(services, args.email)
    await accounts.set_password(services, account.id, read_password())
    out(f"Password set for {account.email}.")
    return EXIT_OK
