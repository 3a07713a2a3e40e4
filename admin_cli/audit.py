"""``mfa-tui admin audit``: the audit log, newest first, as a table or JSON lines.

``--user EMAIL`` (as subject or actor), ``--kind signin`` (a kind or an exact event such as
``signin.failed``), ``--since`` / ``--until`` (UTC dates), ``--limit`` (default 200; 0 for all,
read in pages). Stored text is made safe by ``output.out_row`` in the table; JSON keeps it
as it is (JSON escapes control characters itself).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from admin_cli.output import EXIT_OK, out, out_row
from mfa import audit_log
from mfa.audit_log import AuditEntry, AuditQuery
from mfa.services import Services


def add_parsers(commands: Any) -> None:
    audit = commands.add_parser("audit", help="read the audit log (newest first)")
    audit.add_argument("--user", default="", metavar="EMAIL", help="events of this user")
    audit.add_argument(
        "--kind", default="", help="signin, mfa, user, admin, ... or an event like signin.failed"
    )
    audit.add_argument("--since", default="", metavar="DATE", help="from this UTC date or time")
    audit.add_argument("--until", default="", metavar="DATE", help="before this UTC date or time")
    audit.add_argument("--limit", type=int, default=200, help="at most this many (0: all)")
    audit.add_argument("--format", choices=("table", "json"), default="table")
    audit.set_defaults(handler=_audit)


def table_row(entry: AuditEntry) -> list[str]:
    """The table's fields (``out_row`` makes each safe to print)."""
    return [entry.when, entry.event, entry.actor, entry.subject, entry.detail]


def json_line(entry: AuditEntry) -> str:
    return json.dumps(
        {
            "id": entry.id,
            "at": entry.when + "Z",
            "event": entry.event,
            "actor": entry.actor,
            "subject": entry.subject,
            "detail": entry.detail,
        },
        ensure_ascii=True,
    )


async def _audit(services: Services, args: argparse.Namespace) -> int:
    query = AuditQuery(user_email=args.user, kind=args.kind, since=args.since, until=args.until)
    where = await audit_log.resolve(services, query)
    if args.format == "table":
        out_row(["time (UTC)", "event", "actor", "subject", "detail"])
    left = args.limit if args.limit > 0 else None
    before = None
    while left is None or left > 0:
        size = audit_log.PAGE_SIZE if left is None else min(left, audit_log.PAGE_SIZE)
        entries = await audit_log.page(services, where, before, size)
        for entry in entries:
            if args.format == "table":
                out_row(table_row(entry))
            else:
                out(json_line(entry))
        if len(entries) < size:
            break
        before = entries[-1].cursor
        if left is not None:
            left -= len(entries)
    return EXIT_OK
