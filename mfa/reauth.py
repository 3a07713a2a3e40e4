"""Re-authentication ("step-up") before a user's methods change.

Changing a factor must be as hard as using one (NIST SP 800-63B: bind a new authenticator only
after authenticating at the existing level). Every change to a user's methods (adding one,
changing the phone number, removing one, choosing the default) therefore needs a *grant*: the
sign-in attempt (the session, named by its ``attempt_id``) proved, a moment ago, the password
and, when the user has a verified method that can receive a code, a code from that method.

- :func:`new_attempt_id` names a sign-in attempt; ``mfa.signin.sign_in`` makes one per accepted
  password and the session keeps it until it ends. Codes are bound to it too (``mfa.codes``).
- :func:`needs_code` says whether re-authenticating takes a code; the code is sent with
  ``mfa.sending.send_step_up_code`` to one of ``mfa.factors.sign_in_methods``.
- :func:`step_up` judges the password and the code together and records the grant, valid
  ``security.step_up_seconds`` (5 minutes by default).
- :func:`require` is what every change function in ``mfa.factors`` and ``mfa.sending`` calls, in
  its own write transaction: without a live grant it raises :class:`ReauthRequired`, so the rule
  holds whatever screen (or script) calls it. A setup code can only be *sent* under a grant, and is
  accepted only in the attempt that asked for it, so confirming it needs no second grant check.
- A sign-in whose password was right and that has no method yet (the Setup screen) gets a grant
  at once: the password is then the existing level (``mfa.signin``). It lasts
  ``security.idle_lock_seconds``, long enough to wait for a code.

Grants live in SQLite (``step_up_grants``), keyed by attempt; :func:`end` drops one when its
session ends. Audit events: ``reauth.granted`` (``detail``: ``password`` or ``password and
code``), ``reauth.failed`` (``detail``: the reason), ``mfa.code_rejected`` for a wrong code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mfa import codes, throttle
from mfa.accounts import Account
from mfa.keys import SecretKeyError, installation_box
from mfa.services import Services
from mfa.session import new_attempt_id
from mfa.wording import lock_sentence
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store import reauth as grant_store
from store.db import Reader, Transaction

__all__ = [
    "PASSWORD_WRONG",
    "REAUTH_NEEDED",
    "ReauthRequired",
    "StepUpResult",
    "end",
    "grant_after_password",
    "grant_until",
    "needs_code",
    "new_attempt_id",
    "require",
    "step_up",
]

REAUTH_NEEDED = "Confirm it's you first: enter your password and a code from one of your methods."
"""Why a change was refused without a live grant."""
PASSWORD_WRONG = "That password isn't right."


class ReauthRequired(PermissionError):
    """A method change was asked for without a live grant; ``str(error)`` can be shown."""


@dataclass(frozen=True, slots=True)
class StepUpResult:
    """The verdict on a re-authentication; ``message`` is shown as it is."""

    ok: bool
    message: str
    expires_at: float | None = None
    """Until when the grant lets the session change methods (``ok`` only)."""
    code_result: codes.VerifyResult | None = None
    """The verdict on the code, when the code (not the password) was refused."""
    retry_at: float | None = None
    """When refused because the account has to wait: when it may try again (None: an admin)."""


async def _usable_methods(reader: Reader, user_id: int) -> bool:
    user = await account_store.user_by_id(reader, user_id)
    if user is None:
        return False
    subscription = await account_store.subscription_by_id(reader, user.subscription_id)
    allowed = subscription.allowed if subscription is not None else ()
    if isinstance(reader, Transaction):
        methods = await factor_store.methods_in(reader, user_id)
    else:
        methods = await factor_store.methods_of(reader, user_id)
    return any(method.verified and method.kind in allowed for method in methods)


async def needs_code(services: Services, user: Account) -> bool:
    """True when re-authenticating takes a code: the user has a verified method that can get one."""
    return await _usable_methods(services.db, user.id)


async def grant_until(services: Services, user: Account, attempt_id: str) -> float | None:
    """Until when ``attempt_id`` may change ``user``'s methods (None: it has to re-authenticate)."""
    expires = await grant_store.grant_expiry(services.db, attempt_id, user.id)
    if expires is None or services.now() >= expires:
        return None
    return expires


async def require(conn: Transaction, user_id: int, attempt_id: str, now: float) -> None:
    """Raise :class:`ReauthRequired` unless ``attempt_id`` holds a live grant for ``user_id``.

    Called inside the change's own write transaction.
    """
    expires = await grant_store.grant_expiry(conn, attempt_id, user_id)
    if expires is None or now >= expires:
        raise ReauthRequired(REAUTH_NEEDED)


async def grant_after_password(
    conn: Transaction, attempt_id: str, user_id: int, now: float, seconds: float
) -> None:
    """Record the grant of a sign-in whose right password is all the user has (no method yet)."""
    await grant_store.record_grant(conn, attempt_id, user_id, now, now + seconds, "password")
    await audit.record(
        conn, now, "reauth.granted", actor_id=user_id, subject_id=user_id, detail="sign-in setup"
    )


async def step_up(
    services: Services,
    user: Account,
    attempt_id: str,
    password: str,
    code: str = "",
    *,
    app: bool = False,
) -> StepUpResult:
    """Re-authenticate: the password, and a code sent by ``send_step_up_code`` when the user has a
    verified method (:func:`needs_code`), or with ``app`` the code the user's authenticator app
    shows (``mfa.totp``; its step is then used up). On success the attempt may change methods for
    ``security.step_up_seconds``.

    The password is judged first; while it is wrong the code is not looked at (and stays usable).
    A wrong password counts in the account's failure throttle like a wrong sign-in, and so does a
    wrong code (``mfa.codes``).
    """
    security = services.config.security
    stored = await account_store.user_by_id(services.db, user.id)
    # argon2 runs in a thread, outside any transaction, as at sign-in.
    matched = await services.hasher.verify_async(
        stored.password_hash if stored is not None else None, password
    )
    now = services.now()
    async with services.db.write() as conn:
        fresh = await account_store.user_by_id(conn, user.id)
        if fresh is None or not fresh.is_active:
            await _failed(conn, now, user.id, "account unavailable")
            return StepUpResult(False, "This account can't be used any more.")
        wait = await throttle.check(conn, fresh, now, security)
        if wait is not None:
            await _failed(conn, now, user.id, "account locked")
            return StepUpResult(False, lock_sentence(wait), retry_at=_retry_at(now, wait))
        if not matched or stored is None or fresh.password_hash != stored.password_hash:
            wait = await throttle.record_failure(conn, user.id, now, security)
            await _failed(conn, now, user.id, "wrong password")
            message = PASSWORD_WRONG
            retry_at = None
            if wait is not None:
                message += " " + lock_sentence(wait)
                retry_at = _retry_at(now, wait)
            return StepUpResult(False, message, retry_at=retry_at)
        how = "password"
        if await _usable_methods(conn, user.id):
            try:
                box = installation_box(services.config)
                if app:
                    # Imported here: mfa.totp itself requires grants from this module.
                    from mfa import totp

                    verdict = await totp.judge_app_code(
                        conn, box, user.id, code, now, security, "step-up totp"
                    )
                else:
                    check = await codes.check_code(
                        conn, user_id=user.id, entered=code, purpose="step_up", now=now,
                        security=security, box=box, attempt_id=attempt_id,
                    )  # fmt: skip
                    verdict = check.result
                    if not verdict.ok:
                        await audit.record(
                            conn, now, "mfa.code_rejected", actor_id=user.id,
                            subject_id=user.id, detail=f"step-up: {verdict.status}",
                        )  # fmt: skip
            except SecretKeyError as error:
                return StepUpResult(False, str(error))
            if not verdict.ok:
                return StepUpResult(
                    False, verdict.message, code_result=verdict, retry_at=verdict.retry_at
                )
            if app:
                await throttle.record_success(conn, user.id)
            how = "password and code"
        expires_at = now + security.step_up_seconds
        await grant_store.record_grant(conn, attempt_id, user.id, now, expires_at, how)
        await audit.record(
            conn, now, "reauth.granted", actor_id=user.id, subject_id=user.id, detail=how
        )
    return StepUpResult(True, "Confirmed: you can change your methods now.", expires_at)


async def end(services: Services, attempt_id: str) -> None:
    """The attempt's session ended: its grant, if any, ends with it."""
    async with services.db.write() as conn:
        await grant_store.end_grant(conn, attempt_id)


async def _failed(conn: Transaction, now: float, user_id: int, reason: str) -> None:
    await audit.record(
        conn, now, "reauth.failed", actor_id=user_id, subject_id=user_id, detail=reason
    )


def _retry_at(now: float, wait: float) -> float | None:
    return now + wait if math.isfinite(wait) else None
