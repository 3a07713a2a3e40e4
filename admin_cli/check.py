"""``mfa-tui admin check``: what is wrong with this host, before a technician finds out.

The findings come from :mod:`mfa.hostcheck` (configuration, Python, directories, database, key
file and secret files against the layout; the mail server; the SMS settings); this module prints
them, one line each with its fix, and picks the exit status: 0 when every finding is ok, 1 when
anything needs fixing, 2 when the check couldn't run.

Unlike the other admin commands it opens no database: opening creates a missing file and
directory, which is exactly what an operator is checking. So it is run with the configuration
alone (``without_database``), not with ``Services``.
"""

from __future__ import annotations

import argparse
from typing import Any

from admin_cli.output import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE, err, out
from mfa import hostcheck
from mfa.config import Config
from mfa.hostcheck import Finding


def add_parsers(commands: Any) -> None:
    """Add ``check`` to the ``admin`` sub-commands (an argparse subparsers action)."""
    check = commands.add_parser(
        "check",
        help="what is wrong with this host: files, mail server, SMS settings (exit 0 ok, "
        "1 findings, 2 could not run)",
    )
    check.set_defaults(handler=None, without_database=run)


def finding_line(finding: Finding) -> str:
    """``error  The key file ... Fix: chmod 600 ...``: one line for a person."""
    text = f"{finding.severity:<5}  {finding.what}"
    return f"{text} Fix: {finding.fix}" if finding.fix else text


async def run(config: Config, args: argparse.Namespace | None = None) -> int:
    """Check the host for ``config``, print one line per finding, return the exit status."""
    try:
        findings = await hostcheck.check_host(config)
    except OSError as error:
        err(f"mfa-tui: the check couldn't run: {error}")
        return EXIT_UNUSABLE
    for finding in findings:
        out(finding_line(finding))
    return EXIT_OK if hostcheck.all_ok(findings) else EXIT_FAILED
