"""One-time code rules: how codes are made, what a message carrying one says, how an entered code is judged.

Every method (factor) has its own random base32 secret, stored encrypted (``mfa.keys``). A code is
``HOTP(secret, digits=6).at(counter)``: each send advances the method's counter, so no two codes of a
method share a counter, and the user's single live challenge (``otp_challenges``) remembers which
counter it was. The code itself is never stored and never logged.

The numbers come from ``SecurityConfig`` (its defaults in brackets):

- a code lives ``code_lifetime_seconds`` (600): accepted at 9:59, refused at 10:00;
- ``code_attempts`` (5) wrong entries void it; the sixth entry is refused even when it is right;
- it works once; a resend replaces it (the old code stops working);
- every wrong code also counts in the account's consecutive-failure throttle (``mfa.throttle``),
  shared with passwords and by every process; a resend does not reset that count;
- when another code may be sent (the cooldown and the send limit) is the send pipeline's rule
  (``mfa.sending``).

The functions taking a connection run inside the caller's ``Database.write()`` transaction
(``BEGIN IMMEDIATE``), so two processes judging the same code are serialised: exactly one wins.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiosqlite
import pyotp

from mfa import throttle
from mfa.config import SecurityConfig
from mfa.keys import SecretBox
from mfa.wording import describe_wait, lock_sentence
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store.factors import OtpChallenge
from store.models import User

CODE_DIGITS = 6
EARLIER_CODES_RECOGNISED = 4
"""How many codes before the live one are recognised to say "replaced by a newer one"."""

CODE_USED_OR_REPLACED = "That code has already been used or was replaced. Send a new code."
CODE_VOID = "That code was entered wrongly too many times and no longer works. Send a new code."
CODE_MALFORMED = f"Enter the {CODE_DIGITS}-digit code from the message."

VerifyStatus = Literal[
    "verified",
    "wrong",
    "expired",
    "void",
    "no_code",
    "locked",
    "malformed",
    "unavailable",
    "replayed",
]
"""How a verification ended.

``verified``: the code was right and is now used. ``wrong``: not the code (``tries_left`` says how many
entries this code still allows; 0 means it is void now). ``expired``: too old; send a new one.
``void``: entered wrongly too often; send a new one. ``no_code``: no live code (never sent, used
already, replaced, or for another purpose). ``locked``: the account must wait (``retry_at``).
``malformed``: not six digits; nothing was counted. ``unavailable``: the installation can't check
codes (the key file); the message says what an administrator has to do. ``replayed``: an
authenticator app's code that was accepted already (``mfa.totp``); wait for the app's next code.
"""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The verdict on an entered code, with a message to show as it is."""

    ok: bool
    status: VerifyStatus
    message: str
    tries_left: int | None = None
    """Wrong entries this code still allows (after a wrong one); None when not applicable."""
    retry_at: float | None = None
    """When ``locked``: the moment the account may try again (None: only an administrator can
    unlock it)."""
    method_id: int | None = None
    """The method the code belonged to (on success, the method just used or set up)."""

    @property
    def needs_new_code(self) -> bool:
        """True when entering anything more is pointless until another code is sent."""
        return self.status in ("expired", "void", "no_code") or self.tries_left == 0


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """:func:`check_code`'s answer: the verdict and the challenge it was judged against."""

    result: VerifyResult
    challenge: OtpChallenge | None


# ------------------------------------------------------------------------------------------- codes


def new_secret() -> str:
    """A fresh random base32 secret for a method (160 bits from the OS CSPRNG)."""
    return pyotp.random_base32()


def code_for(secret: str, counter: int) -> str:
    """The six-digit code of ``secret`` at ``counter``."""
    return pyotp.HOTP(secret, digits=CODE_DIGITS).at(counter)


def normalise_code(text: str) -> str | None:
    """The digits of what was typed (spaces and dashes dropped), or None when it isn't a code."""
    digits = re.sub(r"[\s\-]", "", text)
    if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit():
        return digits
    return None


def lifetime_words(security: SecurityConfig) -> str:
    """How long a code works, in words (``10 minutes``)."""
    return describe_wait(security.code_lifetime_seconds)


# ------------------------------------------------------------------------------------ verification


async def check_code(
    conn: aiosqlite.Connection,
    *,
    user_id: int,
    entered: str,
    purpose: str,
    now: float,
    security: SecurityConfig,
    box: SecretBox,
    attempt_id: str,
    method_id: int | None = None,
) -> CodeCheck:
    """Judge ``entered`` against the user's live code, inside the caller's write transaction.

    Only a live code issued for ``purpose`` to the sign-in attempt ``attempt_id`` (and for
    ``method_id``, when given) counts: a code asked for in one session can't be entered in another
    session of the same user. A right code
    is consumed and the account's failure count cleared; a wrong one uses up one of the code's
    attempts and counts in the account throttle. The caller records what success means (method
    used or verified, audit) in the same transaction.
    """
    user = await account_store.user_by_id(conn, user_id)
    if user is None:
        return CodeCheck(VerifyResult(False, "no_code", CODE_USED_OR_REPLACED), None)
    locked = await _locked(conn, user, now, security)
    if locked is not None:
        return CodeCheck(locked, None)
    code = normalise_code(entered)
    if code is None:
        return CodeCheck(VerifyResult(False, "malformed", CODE_MALFORMED), None)

    challenge = await factor_store.challenge_of(conn, user_id)
    if (
        challenge is None
        or challenge.consumed_at is not None
        or challenge.purpose != purpose
        or challenge.attempt_id is None
        or not hmac.compare_digest(challenge.attempt_id.encode(), attempt_id.encode())
        or (method_id is not None and challenge.method_id != method_id)
    ):
        return CodeCheck(VerifyResult(False, "no_code", CODE_USED_OR_REPLACED), challenge)
    if now >= challenge.expires_at:
        message = (
            f"That code has expired: codes work for {lifetime_words(security)}. Send a new code."
        )
        return CodeCheck(
            VerifyResult(False, "expired", message, method_id=challenge.method_id), challenge
        )
    if challenge.attempts >= security.code_attempts:
        return CodeCheck(
            VerifyResult(False, "void", CODE_VOID, tries_left=0, method_id=challenge.method_id),
            challenge,
        )
    method = await factor_store.method_by_id(conn, challenge.method_id)
    if method is None:  # removed meanwhile; its challenge goes with it, but be safe
        return CodeCheck(VerifyResult(False, "no_code", CODE_USED_OR_REPLACED), challenge)
    secret = box.decrypt(method.secret)

    if hmac.compare_digest(code_for(secret, challenge.counter), code):
        if not await factor_store.consume_challenge(conn, user_id, now):
            return CodeCheck(VerifyResult(False, "no_code", CODE_USED_OR_REPLACED), challenge)
        await throttle.record_success(conn, user_id)
        return CodeCheck(
            VerifyResult(True, "verified", "Verified.", method_id=challenge.method_id), challenge
        )

    attempts = await factor_store.count_wrong_attempt(conn, user_id)
    tries_left = max(0, security.code_attempts - attempts)
    replaced = any(
        hmac.compare_digest(code_for(secret, earlier), code)
        for earlier in range(
            max(0, challenge.counter - EARLIER_CODES_RECOGNISED), challenge.counter
        )
    )
    wait = await throttle.record_failure(conn, user_id, now, security)
    if replaced:
        first = "That code was replaced by a newer one: enter the code from the latest message."
    else:
        first = "That code isn't right."
    if tries_left == 0:
        second = "This code has now been entered wrongly too many times. Send a new code."
    else:
        second = (
            f"You have {tries_left} {'try' if tries_left == 1 else 'tries'} left for this code."
        )
    message = f"{first} {second}"
    retry_at = None
    if wait is not None:
        retry_at = now + wait if math.isfinite(wait) else None
        message += " " + lock_sentence(wait)
    return CodeCheck(
        VerifyResult(
            False,
            "wrong",
            message,
            tries_left=tries_left,
            retry_at=retry_at,
            method_id=challenge.method_id,
        ),
        challenge,
    )


async def locked_result(
    conn: aiosqlite.Connection, user_id: int, now: float, security: SecurityConfig
) -> VerifyResult | None:
    """A ``locked`` verdict when the account has to wait before trying codes; None otherwise."""
    user = await account_store.user_by_id(conn, user_id)
    if user is None:
        return None
    return await _locked(conn, user, now, security)


async def _locked(
    conn: aiosqlite.Connection, user: User, now: float, security: SecurityConfig
) -> VerifyResult | None:
    wait = await throttle.check(conn, user, now, security)
    if wait is None:
        return None
    retry_at = now + wait if math.isfinite(wait) else None
    return VerifyResult(False, "locked", lock_sentence(wait), retry_at=retry_at)


# ---------------------------------------------------------------------------------------- messages


def message_text(
    code: str,
    purpose: str,
    security: SecurityConfig,
    *,
    subscription: str = "",
    products: Sequence[str] = (),
) -> tuple[str, str]:
    """The subject and body of a message carrying ``code``.

    With ``subscription`` (and its ``products``) the body says who sends it, so a person who gets
    the mail out of the blue knows which service their password was used for.
    """
    lifetime = lifetime_words(security)
    subject = "Your verification code"
    service = ""
    if subscription:
        service = subscription + (f" ({', '.join(products)})" if products else "")
    if purpose == "setup":
        use = "Enter it to finish setting up multi-factor authentication"
        use += f" for {service}." if service else "."
    elif purpose == "step_up":
        use = "Enter it to confirm it's you before your verification methods are changed."
    else:
        use = (
            f"Enter it to finish signing in to {service}."
            if service
            else ("Enter it to finish signing in.")
        )
    body = (
        f"Your verification code is {code}. {use} It works for {lifetime}.\n\n"
        "If you didn't ask for this code, someone may know your password: change it and tell "
        "your administrator. Never share this code.\n"
    )
    if subscription:
        body += f"\nSent by mfa-tui, the sign-in service of {subscription}.\n"
    return subject, body


def sms_text(code: str, purpose: str, security: SecurityConfig) -> str:
    """A text message carrying ``code``: short, code first."""
    action = {"setup": "setup", "step_up": "confirming a change"}.get(purpose, "sign-in")
    return (
        f"{code} is your verification code for {action}. It works for "
        f"{lifetime_words(security)}. Never share it."
    )


async def audit_rejection(
    conn: aiosqlite.Connection, now: float, user_id: int, result: VerifyResult, what: str
) -> None:
    """Record a refused code (``mfa.code_rejected``) in the checking transaction.

    Every refusal is recorded, a malformed entry included (it counts against nothing).
    """
    await audit.record(
        conn,
        now,
        "mfa.code_rejected",
        actor_id=user_id,
        subject_id=user_id,
        detail=f"{what}: {result.status}",
    )
