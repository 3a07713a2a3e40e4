"""Launching a product after a complete sign-in: which products can be launched, what runs, with
which environment, and what the audit log says about it.

The home screen (a product run in the same terminal while the app is suspended) and
``mfa-tui gate -- COMMAND`` (the command replaces mfa-tui) share these rules; neither Textual nor
a terminal is needed here.

A launched program finds the verified identity in its environment:

=======================  ==========================================================
``MFA_TUI_USER_EMAIL``   the sign-in address of the person who signed in
``MFA_TUI_USER_NAME``    their display name
``MFA_TUI_USER_ROLE``    ``admin`` or ``user``
``MFA_TUI_SUBSCRIPTION`` the subscription's name
``MFA_TUI_SESSION_ID``   the session, as the audit log names it
``MFA_TUI_MFA``          ``verified`` (a second factor was checked) or ``not required``
``MFA_TUI_PRODUCT``      the product's name (not set by the gate)
=======================  ==========================================================

Everything else of mfa-tui's own environment is passed on, except what the product must not
see or could be misled by: every other ``MFA_TUI_*`` variable (mfa-tui's configuration, or an
identity someone tried to set before signing in) and the variables holding the SMTP password
and the SMS gateway's token.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mfa.config import Config

if TYPE_CHECKING:  # types only: every start reads remote_command_refusal, nothing else here
    from mfa.services import Services
    from mfa.session import Session

ENV_EMAIL = "MFA_TUI_USER_EMAIL"
ENV_NAME = "MFA_TUI_USER_NAME"
ENV_ROLE = "MFA_TUI_USER_ROLE"
ENV_SUBSCRIPTION = "MFA_TUI_SUBSCRIPTION"
ENV_SESSION = "MFA_TUI_SESSION_ID"
ENV_MFA = "MFA_TUI_MFA"
ENV_PRODUCT = "MFA_TUI_PRODUCT"
OWN_PREFIX = "MFA_TUI_"
"""mfa-tui's own variables (configuration, identity): never inherited by a product."""

SSH_ORIGINAL_COMMAND = "SSH_ORIGINAL_COMMAND"
"""Set by sshd under ``ForceCommand`` when the client asked for a command (or scp, sftp)."""

REMOTE_COMMAND_REFUSED = (
    "mfa-tui: this host runs no remote commands (scp, sftp, ssh HOST COMMAND); "
    "connect with ssh -t HOST and sign in."
)

GATE_LABEL = "gate"
"""How the audit log names what ``mfa-tui gate -- COMMAND`` runs."""


class LaunchRefused(Exception):
    """A product can't be launched now; the message says why, for the person."""


@dataclass(frozen=True)
class Identity:
    """Who signed in, as a launched program is told."""

    user_id: int
    email: str
    name: str
    role: str
    subscription: str
    session_id: str
    mfa_verified: bool


@dataclass(frozen=True)
class Launch:
    """One program to run for a signed-in person."""

    label: str
    """The product's name, or ``gate``."""
    argv: tuple[str, ...]
    env: dict[str, str]
    identity: Identity


def launchable(config: Config, products: Sequence[str]) -> list[str]:
    """Those of ``products`` (a subscription's, in its order) that have a command to run."""
    return [name for name in products if name in config.products]


def remote_command_refusal(environ: Mapping[str, str], config: Config) -> str | None:
    """The line to refuse a connection that asked for a remote command with, or None to go on."""
    if SSH_ORIGINAL_COMMAND in environ and not config.session.allow_remote_command:
        return REMOTE_COMMAND_REFUSED
    return None


def product_environment(
    base: Mapping[str, str], identity: Identity, config: Config, product: str | None = None
) -> dict[str, str]:
    """``base`` (mfa-tui's environment) without its secrets and own variables, plus the identity."""
    secrets = {
        config.email.password_env,
        config.sms.http_token_env,
        config.sms.twilio_auth_token_env,
    }
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(OWN_PREFIX) and name not in secrets
    }
    env.update(
        {
            ENV_EMAIL: identity.email,
            ENV_NAME: identity.name,
            ENV_ROLE: identity.role,
            ENV_SUBSCRIPTION: identity.subscription,
            ENV_SESSION: identity.session_id,
            ENV_MFA: "verified" if identity.mfa_verified else "not required",
        }
    )
    if product is not None:
        env[ENV_PRODUCT] = product
    return env


async def identity_for(services: Services, session: Session) -> Identity:
    """The identity of a complete sign-in, read afresh (an account disabled since is refused)."""
    from store import accounts as account_store  # at the first launch (see the imports above)

    if not session.signed_in:
        raise LaunchRefused("Finish signing in first.")
    user = await account_store.user_by_id(services.db, session.user.id)
    if user is None or not user.is_active:
        raise LaunchRefused("Your account is no longer active. Contact your administrator.")
    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    return Identity(
        user_id=user.id,
        email=user.email,
        name=user.display_name,
        role=user.role,
        subscription=subscription.name if subscription else "",
        session_id=session.id,
        mfa_verified=session.mfa_verified,
    )


async def product_launch(
    services: Services, session: Session, product: str, environ: Mapping[str, str]
) -> Launch:
    """What to run for ``product``, chosen on home; refused unless it is the person's and has a
    command."""
    from store import accounts as account_store

    identity = await identity_for(services, session)
    command = services.config.products.get(product)
    if command is None:
        raise LaunchRefused(f"{product} has no program to start on this host.")
    offered = await account_store.products_of(services.db, session.user.subscription_id)
    if product not in offered:
        raise LaunchRefused(f"{product} is not part of your subscription.")
    env = product_environment(environ, identity, services.config, product)
    return Launch(label=product, argv=command.command, env=env, identity=identity)


def gate_launch(
    identity: Identity, argv: Sequence[str], environ: Mapping[str, str], config: Config
) -> Launch:
    """What ``mfa-tui gate -- COMMAND ARGS...`` runs once ``identity`` signed in."""
    if not argv:
        raise LaunchRefused("The gate was given no command.")
    env = product_environment(environ, identity, config)
    return Launch(label=GATE_LABEL, argv=tuple(argv), env=env, identity=identity)


# ---------------------------------------------------------------------------------- the audit log


def _about(launch: Launch) -> str:
    return f"{launch.label} (session {launch.identity.session_id})"


async def _record(services: Services, launch: Launch, event: str, detail: str) -> None:
    from store import audit

    user_id = launch.identity.user_id
    async with services.db.write() as conn:
        await audit.record(
            conn, services.now(), event, actor_id=user_id, subject_id=user_id, detail=detail
        )


async def record_launch(services: Services, launch: Launch) -> None:
    """``product.launched``: who, which product, the session and the exact command line."""
    await _record(
        services, launch, "product.launched", f"{_about(launch)}: {shlex.join(launch.argv)}"
    )


async def record_exit(services: Services, launch: Launch, returncode: int) -> None:
    """``product.exited``: how the program ended."""
    await _record(services, launch, "product.exited", f"{_about(launch)}: {exit_words(returncode)}")


async def record_failure(services: Services, launch: Launch, error: OSError) -> None:
    """``product.failed``: the program could not be started at all."""
    reason = error.strerror or str(error)
    await _record(services, launch, "product.failed", f"{_about(launch)}: couldn't start: {reason}")


def exit_words(returncode: int) -> str:
    """``0`` -> "exit status 0"; ``-15`` (as asyncio reports a signal) -> "ended by SIGTERM"."""
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return f"ended by {name}"


def start_error_words(launch: Launch, error: OSError) -> str:
    """What to tell the person when the program could not be started."""
    reason = error.strerror or str(error)
    return f"Couldn't start {launch.label}: {reason} ({launch.argv[0]})."


# ---------------------------------------------------------------------------------- running it

_SHARED_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT)


async def run_in_terminal(launch: Launch) -> int:
    """Run ``launch`` on this process's terminal and wait for it; its exit status (negative: the
    signal that ended it). Raises OSError when it can't be started.

    The program inherits the terminal (stdin, stdout, stderr) and stays in this process group, so
    it is the terminal's foreground. Ctrl+C and Ctrl+\\ reach both it and mfa-tui, which ignores
    them meanwhile: the product decides. (A handler installed here is reset to the default in
    the program when it starts.) If mfa-tui is stopped while waiting (a hang-up), the program is
    sent SIGHUP rather than left running on a terminal nobody holds.
    """
    loop = asyncio.get_running_loop()
    for number in _SHARED_TERMINAL_SIGNALS:
        loop.add_signal_handler(number, lambda: None)
    try:
        process = await asyncio.create_subprocess_exec(*launch.argv, env=launch.env)
        try:
            return await process.wait()
        except asyncio.CancelledError:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGHUP)
            raise
    finally:
        for number in _SHARED_TERMINAL_SIGNALS:
            loop.remove_signal_handler(number)
