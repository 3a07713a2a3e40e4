"""Which MFA methods a subscription allows: the admin's policy (``subscriptions.allowed_methods``).

The admin ticks Email, SMS and Authenticator app in General Preferences, or runs
``mfa-tui admin mfa methods email,totp``; at least one stays allowed. Setup and Verify then offer
only those (``mfa.factors.allowed_kinds``), and a user whose only method is no longer allowed sets
up an allowed one at the next sign-in (``mfa.signin``). New subscriptions allow all three.
"""

from __future__ import annotations

from collections.abc import Iterable

from mfa.kinds import KIND_NAMES, KINDS
from mfa.services import Services
from store import accounts as account_store
from store import audit

DEFAULT_ALLOWED = KINDS
"""What a new subscription allows: every method this version has."""

NONE_ALLOWED = "Allow at least one method: users need one to sign in."


class MethodPolicyError(ValueError):
    """A policy that can't be saved; ``str(error)`` is a sentence fit to show."""


def stored_form(kinds: Iterable[str]) -> str:
    """``kinds`` as ``subscriptions.allowed_methods`` holds them: known ones, display order."""
    chosen = set(kinds)
    return ",".join(kind for kind in KINDS if kind in chosen)


def parse_methods(text: str) -> tuple[str, ...]:
    """``email,totp`` (as typed on a command line) -> the kinds; MethodPolicyError when a name
    is unknown or none is given. ``app`` is accepted for ``totp``."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    kinds: list[str] = []
    for name in names:
        kind = "totp" if name in ("app", "authenticator") else name
        if kind not in KINDS:
            known = ", ".join(KINDS)
            raise MethodPolicyError(f"Unknown method {name!r}: choose from {known}.")
        kinds.append(kind)
    if not kinds:
        raise MethodPolicyError(NONE_ALLOWED)
    return tuple(kind for kind in KINDS if kind in kinds)


def describe(kinds: Iterable[str]) -> str:
    """``Email, Authenticator app``: the kinds as people read them."""
    return ", ".join(KIND_NAMES[kind] for kind in KINDS if kind in set(kinds))


async def allowed_methods(services: Services, subscription_id: int) -> tuple[str, ...]:
    """The kinds the subscription allows, in display order."""
    subscription = await account_store.subscription_by_id(services.db, subscription_id)
    if subscription is None:
        raise MethodPolicyError(f"There is no subscription with id {subscription_id}.")
    return tuple(kind for kind in KINDS if kind in subscription.allowed)


async def set_allowed_methods(
    services: Services,
    subscription_id: int,
    kinds: Iterable[str],
    *,
    actor_id: int | None = None,
) -> tuple[str, ...]:
    """Save which methods the subscription allows (audited); returns them in display order."""
    stored = stored_form(kinds)
    if not stored:
        raise MethodPolicyError(NONE_ALLOWED)
    async with services.db.write() as conn:
        if not await account_store.set_allowed_methods(conn, subscription_id, stored):
            raise MethodPolicyError(f"There is no subscription with id {subscription_id}.")
        await audit.record(
            conn,
            services.now(),
            "mfa.methods_allowed",
            actor_id=actor_id,
            detail=stored,
        )
    return tuple(stored.split(","))
