"""Judging stored addresses again when ``[email] internal_domains`` changes.

Every address's verdict ("can it receive codes?") is stored when the address is written
(``mfa.addresses``), judged with the ``internal_domains`` of that moment. The setting it was last
judged with is kept in ``applied_settings``; when the configured value differs:

- ``mfa-tui admin users recheck-email`` judges every address again (:func:`recheck_addresses`);
- the next MFA process (``mfa.mfa_process.begin`` and ``retry``) does the same first
  (:func:`recheck_if_changed`), judging only the addresses the change can affect: those that
  can't receive codes, and those on a domain that was or is internal;
- a code about to be sent judges that one address with the current setting
  (:func:`current_verdict`), so a user never waits for either of the above.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mfa.accounts import Account
from mfa.addresses import (
    AddressError,
    AddressVerdict,
    check_address,
    domains_fingerprint,
    internal_suffix,
)
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store import settings as settings_store
from store.models import User

SETTING = "email.internal_domains"
_BATCH = 1_000


@dataclass
class RecheckReport:
    """What a re-check changed."""

    checked: int = 0
    """Addresses judged again."""
    now_deliverable: list[str] = field(default_factory=list)
    """Addresses that can receive codes now and couldn't before."""
    now_undeliverable: list[str] = field(default_factory=list)
    """Addresses that can't receive codes any more, each with the reason (``address: reason``)."""


async def recheck_addresses(
    services: Services, *, only_affected_by: str | None = None, actor_id: int | None = None
) -> RecheckReport:
    """Judge the stored addresses again with the configured ``internal_domains``.

    Args:
        only_affected_by: The fingerprint the verdicts were judged with: only addresses that change
            can affect are judged (None: every address).
        actor_id: The administrator who asked, for the audit log.
    """
    domains = services.config.email.internal_domains
    earlier = tuple(d for d in (only_affected_by or "").split(",") if d)
    either = (*domains, *earlier)
    report = RecheckReport()
    after = 0
    while True:
        batch = await account_store.email_verdicts_after(services.db, after, _BATCH)
        if not batch:
            break
        after = batch[-1].user_id
        changes: list[tuple[account_store.EmailVerdict, AddressVerdict]] = []
        for stored in batch:
            domain = stored.email.rpartition("@")[2]
            if (
                only_affected_by is not None
                and stored.deliverable
                and internal_suffix(domain, either) is None
            ):
                continue
            report.checked += 1
            try:
                verdict = check_address(stored.email, domains)
            except AddressError:
                continue  # not an address at all: it couldn't have been stored
            if (verdict.deliverable, verdict.problem) != (stored.deliverable, stored.problem):
                changes.append((stored, verdict))
        if changes:
            async with services.db.write() as conn:
                for stored, verdict in changes:
                    if not await account_store.set_email_verdict(
                        conn, stored.user_id, stored.email, verdict.deliverable, verdict.problem
                    ):
                        continue  # the address changed meanwhile, and was judged when written
                    if verdict.deliverable:
                        report.now_deliverable.append(stored.email)
                    else:
                        report.now_undeliverable.append(f"{stored.email}: {verdict.problem}")
    async with services.db.write() as conn:
        now = services.now()
        await settings_store.record_applied_setting(
            conn, SETTING, domains_fingerprint(domains), now
        )
        await audit.record(
            conn, now, "email.verdicts_rechecked", actor_id=actor_id,
            detail=(
                f"internal_domains [{domains_fingerprint(domains)}]: {report.checked} checked, "
                f"{len(report.now_deliverable)} now deliverable, "
                f"{len(report.now_undeliverable)} no longer"
            ),
        )  # fmt: skip
    return report


async def recheck_if_changed(services: Services) -> RecheckReport | None:
    """Re-check the addresses the setting can affect when it differs from the one they were judged
    with; None when it doesn't (verdicts stored before any re-check were judged with none)."""
    stored = await settings_store.applied_setting(services.db, SETTING) or ""
    if stored == domains_fingerprint(services.config.email.internal_domains):
        return None
    return await recheck_addresses(services, only_affected_by=stored)


async def current_verdict(services: Services, account: Account | User) -> tuple[bool, str | None]:
    """Whether ``account``'s address can receive codes, and why not, by the current setting.

    A verdict that differs from the stored one is stored.
    """
    stored = (bool(account.email_deliverable), account.email_problem)
    try:
        verdict = check_address(account.email, services.config.email.internal_domains)
    except AddressError:
        return stored
    if (verdict.deliverable, verdict.problem) == stored:
        return stored
    async with services.db.write() as conn:
        await account_store.set_email_verdict(
            conn, account.id, account.email, verdict.deliverable, verdict.problem
        )
    return verdict.deliverable, verdict.problem
