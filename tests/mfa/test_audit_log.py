"""Reading the audit log: filters, keyset pages newest first, the time index, and retention."""

from __future__ import annotations

import pytest

from mfa import audit_log
from mfa.accounts import AccountError
from mfa.audit_log import AuditQuery
from mfa.clock import ManualClock
from mfa.services import Services
from store import audit
from tests.mfa.factor_helpers import make_user

DAY = 86_400


async def seed(services: Services, clock: ManualClock) -> tuple[int, int]:
    jo = await make_user(services, "jo@example.com")
    kim = await make_user(services, "kim@example.com")
    start = clock.now()
    async with services.db.write() as conn:
        for i in range(500):
            subject = jo.id if i % 2 else kim.id
            event = ("signin.failed", "mfa.code_rejected", "admin.user_unlocked")[i % 3]
            await audit.record(
                conn, start + i, event, actor_id=subject, subject_id=subject,
                detail="[bold]x[/]" if i == 499 else None,
            )  # fmt: skip
    return jo.id, kim.id


async def every_page(services: Services, query: AuditQuery) -> list[audit_log.AuditEntry]:
    where = await audit_log.resolve(services, query)
    seen: list[audit_log.AuditEntry] = []
    before = None
    while page := await audit_log.page(services, where, before, limit=37):
        seen += page
        before = page[-1].cursor
    return seen


async def test_newest_first_in_keyset_pages_with_filters(
    services: Services, clock: ManualClock
) -> None:
    jo_id, _ = await seed(services, clock)
    every = await every_page(services, AuditQuery())
    assert [(e.at, e.id) for e in every] == sorted(((e.at, e.id) for e in every), reverse=True)
    assert len(every) == len({e.id for e in every})
    assert every[0].detail == "[bold]x[/]"  # stored text comes back as it is

    jo = await every_page(services, AuditQuery(user_email="jo@example.com"))
    assert jo and all(e.subject == "jo@example.com" or e.actor == "jo@example.com" for e in jo)
    signins = await every_page(services, AuditQuery(kind="signin"))
    assert len(signins) == 167 and {e.event for e in signins} == {"signin.failed"}
    exact = await every_page(services, AuditQuery(kind="mfa.code_rejected"))
    assert {e.event for e in exact} == {"mfa.code_rejected"}
    since = audit_log.format_time(clock.now() + 400).replace(" ", "T")
    recent = await every_page(services, AuditQuery(since=since))
    assert len(recent) == 100
    assert "signin" in await audit_log.kinds(services) and "admin" in await audit_log.kinds(
        services
    )
    assert jo_id


async def test_bad_filters_are_explained(services: Services) -> None:
    with pytest.raises(AccountError, match="isn't a date"):
        await audit_log.resolve(services, AuditQuery(since="last tuesday"))
    with pytest.raises(AccountError, match="no account"):
        await audit_log.resolve(services, AuditQuery(user_email="nobody@example.com"))


async def test_reading_uses_the_time_and_kind_indexes(services: Services) -> None:
    for condition, index in (
        ("1", "audit_events_by_time"),
        ("kind = 'signin'", "audit_events_by_kind"),
        ("event = 'signin.failed'", "audit_events_by_event"),
    ):
        plan = await services.db.fetchall(
            f"EXPLAIN QUERY PLAN SELECT * FROM audit_events WHERE {condition}"
            " ORDER BY at DESC, id DESC LIMIT 200"
        )
        details = " ".join(row[3] for row in plan)
        assert index in details and "TEMP B-TREE" not in details, details


async def test_retention_prunes_old_events_in_bounded_batches(
    services: Services, clock: ManualClock
) -> None:
    await seed(services, clock)
    assert services.config.audit.retention_days == 365
    clock.advance(365 * DAY + 250)  # 252 are older than a year now: 250 and the 2 user.added
    deleted = await audit_log.prune(services, batch=100, batches=2)
    assert deleted == 200  # bounded: the rest goes next time
    assert await audit_log.prune(services, batch=100, batches=2) == 52
    assert await audit_log.prune(services) == 0
    remaining = await services.db.fetchone(
        "SELECT min(at) - ?, count(*) FROM audit_events WHERE event != 'audit.pruned'",
        (clock.now() - 365 * DAY,),
    )
    assert tuple(remaining) == (0, 250)
    pruned = await audit_log.page(services, audit_log.AuditFilter(event="audit.pruned"))
    assert [e.detail for e in pruned] == [
        "52 events older than 365 days",
        "200 events older than 365 days",
    ]


async def test_retention_zero_keeps_everything(services: Services, clock: ManualClock) -> None:
    kept = services.config.replace("audit", retention_days=0)
    services.config = kept
    await seed(services, clock)
    clock.advance(10_000 * DAY)
    assert await audit_log.prune(services) == 0
