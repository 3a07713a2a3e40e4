"""``mfa-tui gate -- COMMAND ARGS...``: sign-in and MFA, then the command replaces mfa-tui.

For sshd's ``ForceCommand`` (as Duo's ``login_duo`` works): the technician signs in, with a
second factor where the subscription requires one, in the terminal UI; then mfa-tui execs
``COMMAND`` (``os.execvpe``: a ``$PATH`` search, the same process, the same terminal) with its
own environment plus the verified identity (:mod:`mfa.products`). Quitting, an ended session or
any failure before that launches nothing and exits non-zero (``tui.lifecycle``). The launch is
audited (``session.started``, ``product.launched`` named ``gate``) before the exec; what the
command does after that is its own business, so there is no exit row.

Textual is imported only once the checks have passed: a refused connection costs little.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mfa import demo as demo_data
from mfa import products
from mfa import session as sessions
from mfa.config import Config
from mfa.products import Launch, LaunchRefused
from mfa.services import StoreError, open_services
from tui import lifecycle

HELP = "sign in with MFA, then run COMMAND in place of mfa-tui (for sshd's ForceCommand)"


def build_parser() -> argparse.ArgumentParser:
    """The parser of what follows ``mfa-tui gate``: ``-- COMMAND ARGS...``."""
    parser = argparse.ArgumentParser(
        prog="mfa-tui gate",
        description=f"{HELP[0].upper()}{HELP[1:]}. Exits non-zero, launching nothing, when "
        "nobody completes a sign-in.",
    )
    parser.add_argument(
        "gate_command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS ...]",
        help="the program to run after a complete sign-in, and its arguments",
    )  # fmt: skip
    return parser


def command_of(arguments: Sequence[str]) -> list[str]:
    """The command given after ``gate`` (a leading ``--`` is only a separator)."""
    command = list(arguments)
    if command and command[0] == "--":
        command = command[1:]
    return command


def run_gate(
    config: Config,
    arguments: Sequence[str],
    *,
    demo: bool = False,
    reset: bool = False,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the gate; returns an exit status only when the command was not launched."""
    environ = os.environ if environ is None else environ
    command = command_of(arguments)
    if not command:
        print("mfa-tui: gate needs a command: mfa-tui gate -- COMMAND [ARGS ...]", file=sys.stderr)
        return lifecycle.EXIT_UNUSABLE
    # A command that can't run is a mistake in sshd_config: say so before anyone signs in.
    if shutil.which(command[0], path=environ.get("PATH", os.defpath)) is None:
        print(f"mfa-tui: gate: can't find the command {command[0]!r}.", file=sys.stderr)
        return lifecycle.EXIT_NOT_FOUND
    if demo:
        from mfa.demo_mail import DemoMailSink, demo_config

        with DemoMailSink() as mail_server:
            outcome = asyncio.run(
                _sign_in(demo_config(config, mail_server), command, environ, demo, reset)
            )
    else:
        outcome = asyncio.run(_sign_in(config, command, environ, demo, reset))
    if isinstance(outcome, int):
        return outcome
    return _replace_process(*outcome)


async def _sign_in(
    config: Config, command: list[str], environ: Mapping[str, str], demo: bool, reset: bool
) -> tuple[Launch, Config] | int:
    """Run the sign-in screens; the launch to exec (and the configuration of the database it was
    recorded in), or the exit status when there is none."""
    db_path = demo_data.demo_database_path(config) if demo else config.database_path
    if demo and reset:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(db_path) + suffix).unlink()
    config = config.with_database(db_path)
    try:
        services = await open_services(config, demo=demo)
    except StoreError as error:
        print(f"mfa-tui: {error}", file=sys.stderr)
        return lifecycle.EXIT_UNUSABLE
    try:
        if demo:
            await demo_data.seed(services)
        from tui.gate_app import GateApp  # Textual, only now that it is needed

        app = GateApp(services, demo=demo)
        await app.run_async()
        session = app.signed_in
        if session is None:
            # Quit, a session that ended, a crash: never exit 0 without having launched.
            return app.return_code or lifecycle.EXIT_NOT_SIGNED_IN
        try:
            identity = await products.identity_for(services, session)
        except LaunchRefused as refusal:
            print(f"mfa-tui: {refusal}", file=sys.stderr)
            return lifecycle.EXIT_NOT_SIGNED_IN
        launch = products.gate_launch(identity, command, environ, services.config)
        await sessions.record_start(services, session)
        await products.record_launch(services, launch)
        return launch, config
    finally:
        await services.close()


def _replace_process(launch: Launch, config: Config) -> int:
    """Become the command. Returns (126 or 127) only if that fails."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(launch.argv[0], list(launch.argv), launch.env)
    except OSError as error:
        print(f"mfa-tui: {products.start_error_words(launch, error)}", file=sys.stderr)
        with contextlib.suppress(Exception):
            asyncio.run(_record_failure(config, launch, error))
        if isinstance(error, FileNotFoundError):
            return lifecycle.EXIT_NOT_FOUND
        return lifecycle.EXIT_CANNOT_EXECUTE
    raise AssertionError("unreachable: exec returned")  # pragma: no cover


async def _record_failure(config: Config, launch: Launch, error: OSError) -> None:
    services = await open_services(config)
    try:
        await products.record_failure(services, launch, error)
    finally:
        await services.close()
