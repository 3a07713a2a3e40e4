"""How the terminal UI starts and ends as a process: refusing to start where it can't work,
ending on a hang-up, and the exit status it leaves behind.

Exit statuses of ``mfa-tui`` (the UI) and ``mfa-tui gate``:

====  ============================================================================================
0     the UI ended with someone signed in: Ctrl+Q on home (or, in kiosk mode, the session ended)
1     nobody was signed in: Ctrl+Q before a complete sign-in (or after signing out); the gate
      ended without launching its command
2     it can't run here: no terminal, a remote command refused, a bad configuration or database
129   the terminal hung up (SIGHUP), or the process was told to stop (SIGTERM: 143)
====  ============================================================================================

``mfa-tui gate`` that launched its command has become that command, and ends with its status
(126 or 127 when the command could not be started).

This module imports no Textual at load time: ``tui.cli`` calls :func:`refusal` before deciding
whether to load the UI at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from mfa import products
from mfa.config import Config

if TYPE_CHECKING:
    from tui.app import MfaApp

EXIT_SIGNED_IN = 0
EXIT_NOT_SIGNED_IN = 1
EXIT_UNUSABLE = 2
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127

NO_TERMINAL = (
    "mfa-tui: no terminal: the sign-in screen needs one (connect with ssh -t; "
    "headless administration is mfa-tui admin ...)."
)

ENDING_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
"""A hang-up (the terminal or SSH connection is gone) and a request to stop."""

HANGUP_DEADLINE_SECONDS = 0.6
"""After a hang-up the process ends within this, whether or not a tidy exit finished."""

AUDIT_DEADLINE_SECONDS = 0.25
"""How long the end of the session may take to reach the audit log after a hang-up."""


def refusal(
    environ: Mapping[str, str], config: Config, stdin: TextIO, stdout: TextIO
) -> str | None:
    """The one line to refuse to start the UI (or the gate) with, or None to go on.

    A remote command (scp, sftp, ``ssh host command`` under ``ForceCommand``) is refused unless
    the configuration allows it; without a terminal on stdin and stdout the UI could only write
    escape codes into a pipe, so it refuses at once rather than wait for keys that never come.
    """
    remote = products.remote_command_refusal(environ, config)
    if remote is not None:
        return remote
    if not (_is_terminal(stdin) and _is_terminal(stdout)):
        return NO_TERMINAL
    return None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or no stream at all (stdin of a daemon)
        return False


def signal_exit_status(number: int) -> int:
    """The status a shell reports for a process ended by signal ``number``."""
    return 128 + number


def watch_for_hangup(app: MfaApp) -> None:
    """End ``app`` within a second when its terminal hangs up (SIGHUP) or it is told to stop.

    Nothing can be shown or asked on a terminal that is gone, so the session ends (audited as
    ``hang-up``) and the program exits. A running MFA process is not marked failed: its lease
    names this process, and the next process that looks at the job takes it over once this one
    has gone. If a tidy exit hangs (writing to a dead terminal can), the process ends anyway.
    """
    loop = asyncio.get_running_loop()
    for number in ENDING_SIGNALS:
        loop.add_signal_handler(number, _ending, app, number)


def _ending(app: MfaApp, number: int) -> None:
    status = signal_exit_status(number)
    deadline = threading.Timer(HANGUP_DEADLINE_SECONDS, os._exit, args=(status,))
    deadline.daemon = True
    deadline.start()
    app.run_worker(_end(app, status), group="hangup", exclusive=True, exit_on_error=False)


async def _end(app: MfaApp, status: int) -> None:
    from mfa import session as sessions
    from mfa.session import SessionEnd

    session, app.session = app.session, None
    if session is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                sessions.record_end(app.services, session, SessionEnd.HANGUP),
                AUDIT_DEADLINE_SECONDS,
            )
    app.exit(return_code=status)


def quit_status(app: MfaApp) -> int:
    """Ctrl+Q: 0 with someone signed in, 1 before a complete sign-in (or after a sign-out)."""
    session = app.session
    return EXIT_SIGNED_IN if session is not None and session.signed_in else EXIT_NOT_SIGNED_IN
