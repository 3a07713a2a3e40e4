"""The first step of signing in: email address and password, as a small state machine.

:func:`sign_in` turns an address and a password into one :class:`SignInOutcome`:

- ``SIGNED_IN``: MFA is off for the subscription (or not required of this user): go home;
- ``NEEDS_SETUP``: MFA is required and the user has no verified method yet: the Setup screen;
- ``NEEDS_VERIFICATION``: MFA is required and a method exists: the Verify screen;
- ``REJECTED``: the message is always :data:`INCORRECT`.

No user enumeration: an unknown address, a wrong password, a disabled account and an account that
has to wait (the throttle in ``mfa.throttle``) all get the same message, and every attempt costs one
full argon2 verification (against an unmatchable hash when there is no usable one). A waiting
account is not told how long to wait: saying so would show that the address exists. The real
reason goes to the audit log only.

Audit events (``audit_events.event``; ``detail`` gives the reason or the next step):

- ``signin.succeeded``: password right, no second factor needed; the failure count is cleared;
- ``signin.password_accepted``: password right, a second factor follows (``detail``: which
  screen). The failure count is *not* cleared: it clears when the code is right;
- ``signin.failed``: ``detail`` is ``unknown address``, ``wrong password`` (plus the wait it
  started), ``no password set``, ``account disabled`` or ``account locked``;
- ``user.password_rehashed``: the stored hash was upgraded to the configured argon2 parameters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mfa import throttle
from mfa.accounts import UNUSABLE_PASSWORD, Account
from mfa.addresses import lookup_form
from mfa.services import Services
from mfa.text import unreadable
from mfa.wording import wait_note
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store.db import Transaction
from store.models import User

INCORRECT = "Incorrect email or password."
"""The one message for every refused sign-in."""

UNREADABLE_INPUT = (
    "The email address or password has characters that can't be read as text"
    " (check the terminal's encoding)."
)
"""For text no account can match (lone surrogates); it says nothing about any account."""


class SignInOutcome(enum.Enum):
    """Where a sign-in goes next."""

    SIGNED_IN = "signed in"
    NEEDS_SETUP = "needs MFA setup"
    NEEDS_VERIFICATION = "needs MFA verification"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SignInResult:
    """The verdict on one email-and-password attempt."""

    outcome: SignInOutcome
    user: Account | None = None
    """The account, for every outcome except ``REJECTED`` (where it is always None)."""
    message: str = ""
    """What to show: :data:`INCORRECT` when rejected (:data:`UNREADABLE_INPUT` for text that
    can't be read), empty otherwise."""

    @property
    def accepted(self) -> bool:
        return self.outcome is not SignInOutcome.REJECTED


REJECTED = SignInResult(SignInOutcome.REJECTED, None, INCORRECT)


async def sign_in(services: Services, email: str, password: str) -> SignInResult:
    """Judge one attempt to sign in with ``email`` and ``password``; see the module docstring."""
    if unreadable(email) or unreadable(password):
        # Nothing is judged or recorded: no stored address or password can hold such text.
        return SignInResult(SignInOutcome.REJECTED, None, UNREADABLE_INPUT)
    internal = services.config.email.internal_domains
    address = lookup_form(email, internal) if email.strip() else ""
    found = await account_store.user_by_email(services.db, address) if address else None
    # The slow part runs first and outside any transaction, so the write lock is held briefly.
    matched = await services.hasher.verify_async(
        found.password_hash if found is not None else None, password
    )
    security = services.config.security
    now = services.now()
    async with services.db.write() as conn:
        user = await account_store.user_by_id(conn, found.id) if found is not None else None
        if user is None:
            await _failed(conn, now, None, "unknown address")
            return REJECTED
        if not user.is_active:
            await _failed(conn, now, user.id, "account disabled")
            return REJECTED
        wait = await throttle.check(conn, user, now, security)
        if wait is not None:
            await _failed(conn, now, user.id, f"account locked ({wait_note(wait)})")
            return REJECTED
        if not matched or user.password_hash != found.password_hash:
            wait = await throttle.record_failure(conn, user.id, now, security)
            reason = (
                "no password set" if user.password_hash == UNUSABLE_PASSWORD else "wrong password"
            )
            if wait is not None:
                reason += f"; locked ({wait_note(wait)})"
            await _failed(conn, now, user.id, reason)
            return REJECTED
        outcome = await _next_step(conn, user)
        if outcome is SignInOutcome.SIGNED_IN:
            await throttle.record_success(conn, user.id)
            await audit.record(conn, now, "signin.succeeded", actor_id=user.id, subject_id=user.id)
        else:
            await audit.record(
                conn, now, "signin.password_accepted",
                actor_id=user.id, subject_id=user.id, detail=outcome.value,
            )  # fmt: skip
    if services.hasher.needs_rehash(user.password_hash):
        user = await _rehash(services, user, password)
    return SignInResult(outcome, Account.of(user), "")


async def _next_step(conn: Transaction, user: User) -> SignInOutcome:
    subscription = await account_store.subscription_by_id(conn, user.subscription_id)
    if subscription is None or not subscription.mfa_enabled or not user.mfa_required:
        return SignInOutcome.SIGNED_IN
    # Only methods the subscription still allows can receive a code (as mfa.factors decides).
    allowed = subscription.allowed
    has_method = any(
        method.verified and method.kind in allowed
        for method in await factor_store.methods_in(conn, user.id)
    )
    return SignInOutcome.NEEDS_VERIFICATION if has_method else SignInOutcome.NEEDS_SETUP


async def _failed(conn: Transaction, now: float, user_id: int | None, reason: str) -> None:
    await audit.record(conn, now, "signin.failed", subject_id=user_id, detail=reason)


async def _rehash(services: Services, user: User, password: str) -> User:
    """Store the password again with the configured parameters (it was right a moment ago)."""
    new_hash = await services.hasher.hash_async(password)
    async with services.db.write() as conn:
        # Only if nobody changed the password meanwhile.
        if not await account_store.replace_password_hash(
            conn, user.id, user.password_hash, new_hash
        ):
            return user
        await audit.record(
            conn, services.now(), "user.password_rehashed", actor_id=user.id, subject_id=user.id
        )
        return await account_store.user_by_id(conn, user.id) or user
