"""The MFA commands: ``mfa-tui admin mfa enable | status | retry | disable | methods``.

``methods`` shows, or with a list (``email,totp``) sets, the methods users may use, as the General
Preferences checkboxes do (``mfa.method_policy``).

The same job as the General Preferences screen (``mfa.mfa_process``): progress goes to stderr (a bar
on a terminal, a plain line every 10 % otherwise), the summary and the failed users to stdout. The
exit code is 0 when every user succeeded, 1 when users failed or the command was refused, 2 when it
could not run at all.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from admin_cli.output import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNUSABLE,
    ProgressPrinter,
    count,
    err,
    out,
    shown,
)
from mfa import accounts, method_policy, mfa_process
from mfa.method_policy import MethodPolicyError
from mfa.mfa_process import JobProgress, MfaProcessError
from mfa.services import Services

Handler = Callable[[Services, argparse.Namespace], Awaitable[int]]


def add_parsers(commands: Any) -> None:
    """Add ``mfa`` and its commands to the ``admin`` sub-commands (an argparse subparsers action)."""
    mfa = commands.add_parser("mfa", help="turn multi-factor authentication on or off")
    mfa_commands = mfa.add_subparsers(dest="mfa_command", metavar="COMMAND", required=True)

    enable = mfa_commands.add_parser(
        "enable", help="turn MFA on and run the MFA process for every user"
    )
    status = mfa_commands.add_parser(
        "status", help="show the MFA setting and the MFA process; resume an interrupted one"
    )
    retry = mfa_commands.add_parser("retry", help="run the MFA process again for the failed users")
    disable = mfa_commands.add_parser(
        "disable", help="turn MFA off (users keep the methods they have set up)"
    )
    for command, handler in ((enable, _enable), (status, _status), (retry, _retry)):
        command.add_argument("--subscription", help="the subscription's name")
        command.add_argument(
            "--batch-size", type=_positive, default=mfa_process.BATCH_SIZE, metavar="N",
            help="at most N users per transaction (default: what about"
            f" {mfa_process.WORK_SECONDS * 1000:.0f} ms of work decides)",
        )  # fmt: skip
        command.set_defaults(handler=handler)
    disable.add_argument("--subscription", help="the subscription's name")
    disable.add_argument("--yes", action="store_true", help="don't ask for confirmation")
    disable.set_defaults(handler=_disable)
    methods = mfa_commands.add_parser(
        "methods",
        help="show or set the methods users may use (email, sms, totp: the authenticator app)",
    )
    methods.add_argument(
        "kinds", nargs="?", metavar="METHODS",
        help="comma-separated, e.g. email,totp (at least one); without it, show them",
    )  # fmt: skip
    methods.add_argument("--subscription", help="the subscription's name")
    methods.set_defaults(handler=_methods)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _refusals(handler: Handler) -> Handler:
    """Report a refused MFA command as a message and exit code 1, not a traceback."""

    @wraps(handler)
    async def run(services: Services, args: argparse.Namespace) -> int:
        try:
            return await handler(services, args)
        except (MfaProcessError, MethodPolicyError) as error:
            err(f"mfa-tui: {error}")
            return EXIT_FAILED

    return run


async def _follow(services: Services, job: JobProgress, batch_size: int) -> JobProgress:
    printer = ProgressPrinter()
    try:
        return await mfa_process.follow(
            services, job.job_id, on_progress=printer, batch_size=batch_size
        )
    finally:
        printer.finish()


async def _report(services: Services, job: JobProgress) -> int:
    """Print the summary line and the failed users; the exit code says whether any failed."""
    result = await mfa_process.outcome(services, job.job_id)
    out(
        f"MFA settings complete: {count(result.succeeded)} succeeded,"
        f" {count(result.failed)} failed."
    )
    if result.failed:
        out("Failed users (fix them, e.g. with 'mfa-tui admin users set-email', then retry):")
        for user in await mfa_process.failed_users(services, job.job_id):
            out(f"  {user.email} ({user.display_name}): {user.reason}")
        err(mfa_process.STILL_REQUIRED)
        return EXIT_FAILED
    return EXIT_OK


def _describe(subscription: str, job: JobProgress, started: bool, *, retry: bool = False) -> str:
    if started and retry:
        return (
            f"Retrying the MFA process for the {count(job.total)} users of {subscription}"
            " that failed."
        )
    if started:
        return f"Started the MFA process for {subscription}: {count(job.total)} users."
    return (
        f"The MFA process for {subscription} is already running"
        f" ({count(job.processed)}/{count(job.total)} users); following it."
    )


@_refusals
async def _enable(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    job, started = await mfa_process.begin(services, subscription.id)
    return await _announce_and_follow(services, args, subscription.name, job, started)


@_refusals
async def _retry(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    retried = await mfa_process.retry(services, subscription.id)
    if retried is None:
        out("Nothing to retry: no user failed in the last MFA process.")
        return EXIT_OK
    job, started = retried
    return await _announce_and_follow(services, args, subscription.name, job, started, retry=True)


async def _announce_and_follow(
    services: Services,
    args: argparse.Namespace,
    subscription: str,
    job: JobProgress,
    started: bool,
    *,
    retry: bool = False,
) -> int:
    """Say which job runs (or is followed), follow it to the end, and report how it ended."""
    err(_describe(subscription, job, started, retry=retry))
    final = await _follow(services, job, args.batch_size)
    return await _report(services, final)


@_refusals
async def _status(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    job = await mfa_process.latest_job(services, subscription.id)
    state = "ON" if subscription.mfa_enabled else "OFF"
    if job is None or not subscription.mfa_enabled:
        out(f"MFA is {state} for {subscription.name}.")
        if subscription.mfa_enabled:
            out("The MFA process has not run: run 'mfa-tui admin mfa enable'.")
        return EXIT_OK
    out(f"MFA is {state} for {subscription.name}.")
    if not job.is_complete:
        err(
            f"MFA settings processing: {count(job.processed)}/{count(job.total)} users;"
            " resuming it here if its process has stopped."
        )
        job = await _follow(services, job, args.batch_size)
    return await _report(services, job)


@_refusals
async def _disable(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    if not args.yes:
        if not sys.stdin.isatty():
            err("mfa-tui: turning MFA off needs confirmation: add --yes when there is no terminal.")
            return EXIT_UNUSABLE
        answer = input(
            shown(
                f"Turn MFA off for {subscription.name}? Users will no longer be required to use"
                " it; the methods they have set up are kept. [y/N] "
            )
        )
        if answer.strip().lower() not in {"y", "yes"}:
            out("MFA left as it was.")
            return EXIT_FAILED
    running = await mfa_process.running_job(services, subscription.id)
    if running is not None:
        err("The MFA process is running; waiting for it to complete before turning MFA off.")
        await _follow(services, running, mfa_process.BATCH_SIZE)
    released = await mfa_process.disable(services, subscription.id)
    out(
        f"MFA is OFF for {subscription.name}: {count(released)} users are no longer required to"
        " use it; their methods are kept."
    )
    return EXIT_OK


@_refusals
async def _methods(services: Services, args: argparse.Namespace) -> int:
    subscription = await accounts.require_subscription(services, args.subscription)
    if args.kinds is None:
        allowed = await method_policy.allowed_methods(services, subscription.id)
    else:
        allowed = await method_policy.set_allowed_methods(
            services, subscription.id, method_policy.parse_methods(args.kinds)
        )
    out(
        f"Methods users of {shown(subscription.name)} may use: {','.join(allowed)}"
        f" ({method_policy.describe(allowed)})."
    )
    return EXIT_OK
