"""``mfa-tui admin check``: the host check (:mod:`mfa.hostcheck`) as a headless command.

Unlike the other admin commands it must not open the database (opening creates a missing file
and directory, which is exactly what an operator is checking), so the command line calls
:func:`run` with the configuration instead of a ``Services``.

Every finding goes to stdout, one line each (problems with their fix); the exit status is 0 when
all is well, 1 when anything needs fixing, 2 when the check couldn't run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from mfa import hostcheck
from mfa.config import Config


def add_parser(commands: Any) -> None:
    """Add ``check`` to the ``admin`` sub-commands (an argparse subparsers action)."""
    check = commands.add_parser(
        "check", help="what is wrong with this host: files, mail server, SMS settings"
    )
    check.set_defaults(handler=None, without_database=run)


async def run(
    config: Config, args: argparse.Namespace | None = None, *, out: TextIO | None = None
) -> int:
    """Check the host for ``config``, print one line per finding, return the exit status."""
    out = out or sys.stdout
    try:
        findings = await hostcheck.check_host(config)
    except OSError as error:
        print(f"mfa-tui: the check couldn't run: {error}", file=sys.stderr, flush=True)
        return hostcheck.EXIT_UNUSABLE
    for finding in findings:
        print(hostcheck.finding_line(finding), file=out, flush=True)
    return hostcheck.exit_code(findings)
