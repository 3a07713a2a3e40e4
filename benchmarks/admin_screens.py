"""The admin's Users and Audit log screens on a large database: first paint and search.

Seeds 100,000 users and 1,000,000 audit events (``executemany`` in one transaction each, on a
migrated file), then runs the real app headless at 80x24 (Textual's ``run_test``) signed in as an
admin and measures, as medians over a few runs:

- Users: from opening the screen to the first page (200 rows) in the table; a search by the start
  of a name and by the start of an address, from Enter to the rows shown; reading the next page
  when the cursor reaches the end;
- Audit log: from opening the screen to the first page; filtering by kind, by user and by date;
- beside them, the bare queries (``mfa.admin_users.users_page``, ``mfa.audit_log.page``).

    .venv/bin/python benchmarks/admin_screens.py [--users 100000] [--events 1000000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual.widgets import DataTable, Input, Select

from mfa import admin_users, audit_log
from mfa.accounts import account_by_id, add_user, create_subscription, require_subscription
from mfa.config import Config, SecurityConfig
from mfa.services import Services, open_services
from tui.app import create_app
from tui.screens.audit import AuditScreen
from tui.screens.users import UsersScreen

ADMIN = "admin@example.com"
PASSWORD = "a sturdy benchmark passphrase"
FIRST = ["ava", "ben", "chen", "dara", "eli", "fatima", "grace", "hugo", "ivan", "jordan"]
LAST = ["lee", "ng", "smith", "okafor", "berg", "tanaka", "ramos", "petrov", "mensah", "cohen"]
EVENTS = ["signin.failed", "signin.succeeded", "signin.password_accepted", "mfa.sign_in_verified",
          "mfa.code_rejected", "session.started", "session.ended", "admin.user_unlocked"]  # fmt: skip


async def seed(services: Services, users: int, events: int) -> None:
    await create_subscription(services, "Bench", ["Product"])
    subscription = await require_subscription(services, "Bench")
    await add_user(services, subscription, ADMIN, "Admin", "admin", PASSWORD)
    await services.close()
    rng = random.Random(7)
    conn = sqlite3.connect(services.db.path)
    with conn:
        conn.executemany(
            "INSERT INTO users (subscription_id, email, display_name, password_hash, created_at,"
            " mfa_required) VALUES (?, ?, ?, 'x', 0, 1)",
            (
                (subscription.id, f"{FIRST[i % 10]}.{LAST[i // 10 % 10]}{i}@example.com",
                 f"{FIRST[i % 10].title()} {LAST[i // 10 % 10].title()} {i}")
                for i in range(users)
            ),
        )  # fmt: skip
    start = time.time() - 300 * 86_400
    with conn:
        conn.executemany(
            "INSERT INTO audit_events (at, actor_id, subject_id, event, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                (start + i * 25.0, uid, uid, EVENTS[rng.randrange(len(EVENTS))], "bench")
                for i in range(events)
                for uid in (rng.randrange(2, users + 2),)
            ),
        )
    conn.execute("ANALYZE")
    conn.close()


Record = Callable[[str, float], None]


async def measure(config: Config, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds * 1000)

    services = await open_services(config)
    try:
        for _ in range(runs):
            await queries_once(services, record)
        for _ in range(runs):
            await screens_once(services, record)
    finally:
        await services.close()
    return figures


async def queries_once(services: Services, record: Record) -> None:
    for name, call in (
        ("query: users, first page", lambda: admin_users.users_page(services, 1)),
        ("query: users, search 'grace'",
         lambda: admin_users.users_page(services, 1, search="grace")),
        ("query: users, search 'hugo.ber'",
         lambda: admin_users.users_page(services, 1, search="hugo.ber")),
        ("query: audit, first page", lambda: audit_log.page(services, audit_log.AuditFilter())),
        ("query: audit, kind admin",
         lambda: audit_log.page(services, audit_log.AuditFilter(kind="admin"))),
        ("query: audit, one user",
         lambda: audit_log.page(services, audit_log.AuditFilter(user_id=5000))),
    ):  # fmt: skip
        began = time.perf_counter()
        await call()
        record(name, time.perf_counter() - began)


async def screens_once(services: Services, record: Record) -> None:
    account = await account_by_id(services, (await admin_users.find_user(services, ADMIN)).id)
    assert account is not None
    app = create_app(services)
    async with app.run_test(size=(80, 24)) as pilot:

        async def until(condition: Callable[[], bool]) -> None:
            while not condition():
                await pilot.pause(0.001)

        async def timed(name: str, action: Callable[[], object], done: Callable[[], bool]) -> None:
            began = time.perf_counter()
            action()
            await until(done)
            await pilot.pause()
            record(name, time.perf_counter() - began)

        users = UsersScreen(account)
        await timed(
            "Users: first paint (200 rows)",
            lambda: app.push_screen(users),
            lambda: users.is_mounted and users.query_one(DataTable).row_count == 200,
        )
        table = users.query_one("#users-table", DataTable)
        await timed(
            "Users: next page at the end",
            lambda: table.move_cursor(row=199),
            lambda: table.row_count == 400 and not users.fetching,
        )
        field = users.query_one("#users-search", Input)

        def search(text: str) -> None:
            field.value = text
            users._search_submitted(Input.Submitted(field, text))

        def found(text: str) -> bool:
            if users.fetching or users.search != text or not table.row_count:
                return False
            first = [str(cell).lower() for cell in table.get_row_at(0)[:2]]
            return any(cell.startswith(text) for cell in first)

        for text in ("grace", "hugo.ber"):
            await timed(f"Users: search '{text}'", partial(search, text), partial(found, text))
        app.pop_screen()
        await pilot.pause()

        audit = AuditScreen(account)
        await timed(
            "Audit log: first paint (200 rows)",
            lambda: app.push_screen(audit),
            lambda: audit.is_mounted and len(audit.entries) == 200,
        )
        kind = audit.query_one("#audit-kind", Select)
        await until(lambda: len(kind._options) > 2)

        def set_kind() -> None:
            audit.entries = []
            kind.value = "admin"

        await timed(
            "Audit log: filter kind 'admin'",
            set_kind,
            lambda: (
                len(audit.entries) == 200
                and all(e.event.startswith("admin.") for e in audit.entries)
            ),
        )
        someone = "grace.lee6@example.com"

        def by_user() -> None:
            with kind.prevent(Select.Changed):
                kind.value = ""
            audit.entries = []
            audit.query_one("#audit-user", Input).value = someone
            audit._apply()

        await timed(
            "Audit log: filter one user",
            by_user,
            lambda: bool(audit.entries) and all(e.subject == someone for e in audit.entries),
        )
        app.pop_screen()
        await pilot.pause()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = (
            Config(security=SecurityConfig(argon2_memory_kib=19_456, argon2_time_cost=2))
            .with_database(Path(folder) / "bench.db")
            .replace("security", key_file=str(Path(folder) / "bench.key"))
            .replace("audit", retention_days=0)
        )
        began = time.perf_counter()
        asyncio.run(_seed(config, args.users, args.events))
        print(
            f"seeded {args.users:,} users and {args.events:,} audit events"
            f" in {time.perf_counter() - began:.1f} s"
        )
        figures = asyncio.run(measure(config, args.runs))
    print(f"medians over {args.runs} runs (ms):")
    for name, values in figures.items():
        print(f"  {name:40} {statistics.median(values):8.1f}   (max {max(values):.1f})")


async def _seed(config: Config, users: int, events: int) -> None:
    services = await open_services(config)
    await seed(services, users, events)


if __name__ == "__main__":
    main()
