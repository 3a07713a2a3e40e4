"""The account commands: ``mfa-tui admin init`` and ``mfa-tui admin users add|import|list|...``.

Passwords are read from a prompt on a terminal or from one line of stdin, never from argv (where
``ps`` and the shell history would show them).
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from admin_cli import user_admin
from admin_cli.output import EXIT_FAILED, EXIT_OK, count, err, out, out_row
from mfa import accounts, address_recheck, admin_users
from mfa.services import Services


def read_password(prompt: str = "Password: ", stdin: TextIO | None = None) -> str:
    """Ask on a terminal (twice, without echo); read one line from stdin otherwise."""
    stream = stdin or sys.stdin
    if stream.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Repeat the password: ") != first:
            raise accounts.AccountError("The two passwords differ.")
        return first
    try:
        line = stream.readline()
    except UnicodeDecodeError:
        raise accounts.AccountError(
            "The password on standard input isn't text in the locale's encoding."
        ) from None
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

    lst = user_commands.add_parser(
        "list", help="list users with their MFA methods, lock and status"
    )
    lst.add_argument("--subscription")
    lst.add_argument(
        "--format", choices=("table", "csv", "json"), default="table",
        help="table: tab-separated, made safe for a terminal (default); csv or json: the raw"
        " values, for programs",
    )  # fmt: skip
    lst.add_argument("--locked", action="store_true", help="only accounts locked or waiting")
    lst.add_argument(
        "--without-mfa", action="store_true", help="only users with no MFA method set up"
    )
    lst.add_argument("--disabled", action="store_true", help="only disabled accounts")
    lst.set_defaults(handler=_users_list)

    set_email = user_commands.add_parser("set-email", help="change a user's sign-in address")
    set_email.add_argument("email", help="the current address")
    set_email.add_argument("new_email")
    set_email.set_defaults(handler=_users_set_email)

    recheck = user_commands.add_parser(
        "recheck-email",
        help="judge every address again (after email.internal_domains changed)",
    )
    recheck.set_defaults(handler=_users_recheck_email)

    set_password = user_commands.add_parser(
        "set-password", help="set a user's password (from a prompt or stdin)"
    )
    set_password.add_argument("email")
    set_password.set_defaults(handler=_users_set_password)

    user_admin.add_parsers(user_commands)


async def _init(services: Services, args: argparse.Namespace) -> int:
    password = read_password("Password for the first admin: ")
    subscription, user, warning = await accounts.create_subscription_with_admin(
        services, args.subscription, args.product, args.email, args.name, password
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
        err(f"Nothing imported: {count(len(report.errors))} row(s) need fixing.")
        return EXIT_FAILED
    for line in report.warnings:
        err(f"warning: {args.file}: {line} (imported; MFA codes can't be emailed there)")
    out(f"Imported {count(report.imported)} user(s) into {subscription.name}.")
    return EXIT_OK


LIST_COLUMNS = (
    "email", "name", "role", "status", "mfa_required", "mfa_methods", "locked", "email_problem",
)  # fmt: skip


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _must_wait(user: admin_users.UserSummary) -> bool:
    """``users list``'s "locked": waiting after failures, or locked until an admin unlocks it."""
    return bool(user.lock_state)


def _list_record(user: admin_users.UserSummary) -> dict[str, object]:
    return {
        "email": user.email,
        "name": user.display_name,
        "role": user.role,
        "status": user.status,
        "mfa_required": user.mfa_required,
        "email_problem": user.email_problem,
        "mfa_methods": list(user.methods),
        "locked": _must_wait(user),
    }


async def _users_list(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    users = await admin_users.user_summaries(
        services, subscription.id,
        locked=args.locked, without_mfa=args.without_mfa, disabled=args.disabled,
    )  # fmt: skip
    if args.format == "json":
        json.dump([_list_record(user) for user in users], sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        for user in users:
            writer.writerow(
                [
                    user.email, user.display_name, user.role, user.status,
                    _yes_no(user.mfa_required), ", ".join(user.methods), _yes_no(_must_wait(user)),
                    user.email_problem or "",
                ]
            )  # fmt: skip
    else:
        out_row(list(LIST_COLUMNS))
        for user in users:
            out_row(
                [
                    user.email, user.display_name, user.role, user.status,
                    _yes_no(user.mfa_required), user.methods_text, _yes_no(_must_wait(user)),
                    user.email_problem or "",
                ]
            )  # fmt: skip
    sys.stdout.flush()
    return EXIT_OK


async def _users_set_email(services: Services, args: argparse.Namespace) -> int:
    account = await accounts.require_account(services, args.email)
    updated = await accounts.set_email(services, account.id, args.new_email)
    if updated.email_problem:
        err(f"warning: {updated.email}: {updated.email_problem}")
    out(f"{account.email} is now {updated.email}.")
    return EXIT_OK


async def _users_recheck_email(services: Services, args: argparse.Namespace) -> int:
    domains = ", ".join(services.config.email.internal_domains) or "none"
    report = await address_recheck.recheck_addresses(services)
    for address in report.now_deliverable:
        out(f"{address}: can receive codes now")
    for line in report.now_undeliverable:
        err(f"warning: {line} (MFA codes can't be emailed there)")
    out(
        f"Checked {report.checked} address(es) with email.internal_domains = {domains}: "
        f"{len(report.now_deliverable)} can receive codes now, "
        f"{len(report.now_undeliverable)} no longer can."
    )
    return EXIT_OK


async def _users_set_password(services: Services, args: argparse.Namespace) -> int:
    account = await accounts.require_account(services, args.email)
    await accounts.set_password(services, account.id, read_password())
    out(f"Password set for {account.email}.")
    return EXIT_OK
