"""The authenticator app method: time-based codes (TOTP, RFC 6238) from an app on the user's phone.

The rules (DESIGN.md section 4):

- a code is ``TOTP(secret)`` with SHA-1, a 30-second step and 6 digits, the app's defaults;
- the code of the current step and of the one step before or after it is accepted (a phone clock a
  little off, a code typed just as it changed);
- a step once accepted is never accepted again, also by another process: the method's row keeps
  the newest accepted step (``mfa_methods.last_step``) and acceptance is a compare-and-set of it in
  the caller's ``BEGIN IMMEDIATE`` transaction, so of two sessions entering the same code exactly one
  wins; a code of an earlier step is refused too, since the app has moved on;
- the secret is 160 random bits (``pyotp.random_base32``), encrypted at rest like every method's
  (``mfa.keys``);
- a wrong code counts in the account's consecutive-failure throttle like any other code
  (``mfa.throttle``); a code entered again is refused without counting, as a used email code is.

Setting up (the Setup card "Authenticator app"): :func:`start_totp_setup` makes a fresh secret and
returns the ``otpauth://`` URI for the QR code (``mfa.qr_text``) and the secret in groups of four
for typing; :func:`confirm_totp_setup` with the app's code verifies the method. Setting up again
while an app is verified holds the new secret apart (``pending_secret``): the old app keeps working
until a code of the new one is entered. Signing in: :func:`verify_totp_sign_in`.
"""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from typing import Literal

import aiosqlite
import pyotp

from mfa import codes, notices, reauth, throttle
from mfa.codes import VerifyResult
from mfa.config import SecurityConfig
from mfa.keys import SecretBox, SecretKeyError, installation_box
from mfa.kinds import KIND_NAMES
from mfa.notices import NoticeKind
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store import totp as totp_store

KIND = totp_store.KIND
"""The method kind of an authenticator app (``mfa_methods.kind``)."""

NAME = KIND_NAMES[KIND]
"""What the method is called on screen."""

STEP_SECONDS = 30
DIGITS = 6
WINDOW_STEPS = 1
"""Steps accepted either side of the current one."""

CODE_MALFORMED = f"Enter the {DIGITS}-digit code your authenticator app shows."
CODE_WRONG = (
    "That code isn't right. Enter the code your authenticator app shows now; if it keeps being "
    "refused, check that your phone sets its clock automatically."
)
CODE_REPLAYED = (
    "That code, or a newer one, has already been used. Wait for the next code in your "
    "authenticator app."
)
NO_APP = "You don't have an authenticator app set up. Choose another method."
NO_SETUP = "Start setting up the authenticator app again: press Setup."
NOT_ALLOWED = "Your subscription doesn't allow authenticator apps. Choose another method."

TotpSetupStatus = Literal["ready", "not_allowed", "unavailable", "no_account"]
"""How :func:`start_totp_setup` ended. ``ready``: scan or type the key, then confirm.
``not_allowed``: the subscription doesn't allow authenticator apps. ``unavailable``: the key file
can't be used (the message says what an administrator must do). ``no_account``: the account is
gone."""


@dataclass(frozen=True, slots=True)
class TotpSetup:
    """What the Setup card shows after **Setup**: the QR code's URI and the key to type."""

    ok: bool
    status: TotpSetupStatus
    message: str
    """A sentence to show as it is (it may contain the subscription's name: render literally)."""
    uri: str | None = None
    """The ``otpauth://totp/...`` URI to draw as a QR code (it holds the secret: never log it)."""
    key_groups: str | None = None
    """The secret in groups of four (``ABCD EFGH ...``), for typing it into the app by hand."""
    issuer: str | None = None
    """The name the app shows the entry under (the subscription's name)."""
    account: str | None = None
    """The account name the app shows (the user's email address)."""
    method_id: int | None = None
    replacing: bool = False
    """True when an app already set up stays in use until this one is confirmed."""


# ------------------------------------------------------------------------------------- pure rules


def new_secret() -> str:
    """A fresh base32 secret: 160 bits (RFC 4226's recommended length) from the OS CSPRNG."""
    return pyotp.random_base32()


def step_at(now: float) -> int:
    """The RFC 6238 time step (``T``) at ``now``: whole 30-second intervals since the epoch."""
    return math.floor(now / STEP_SECONDS)


def code_at_step(secret: str, step: int) -> str:
    """The 6-digit code of ``secret`` for time step ``step``."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def matching_steps(secret: str, code: str, now: float) -> list[int]:
    """The steps within the window around ``now`` whose code is ``code``, oldest first.

    Every step is compared (in constant time), whatever matched before it.
    """
    current = step_at(now)
    return [
        step
        for step in range(max(0, current - WINDOW_STEPS), current + WINDOW_STEPS + 1)
        if hmac.compare_digest(code_at_step(secret, step), code)
    ]


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER`` URI apps read from a QR code.

    SHA-1, 6 digits and 30 s are the apps' defaults, so they are left out (a shorter URI makes a
    smaller QR code).
    """
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def key_groups(secret: str) -> str:
    """The secret in groups of four characters, for typing: ``ABCD EFGH IJKL ...``."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(text: str) -> str | None:
    """The six digits typed (spaces and dashes dropped), or None when it isn't a code."""
    return codes.normalise_code(text)


# ------------------------------------------------------------------------------------------ setup


async def totp_allowed(services: Services, user_id: int) -> bool:
    """True when the user's subscription allows authenticator apps (``allowed_methods``)."""
    user = await account_store.user_by_id(services.db, user_id)
    if user is None:
        return False
    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    return subscription is not None and KIND in subscription.allowed


async def start_totp_setup(services: Services, user_id: int, *, attempt: str) -> TotpSetup:
    """The Authenticator app card's **Setup**: a fresh secret, its URI and its key for typing.

    An unverified app gets a new secret each time (a QR code shown earlier stops working). For an
    app that is verified, the new secret waits in ``pending_secret`` and the old one keeps working
    until :func:`confirm_totp_setup` succeeds. Like every method change it needs the sign-in
    ``attempt``'s re-authentication grant: ``mfa.reauth.ReauthRequired`` otherwise.
    """
    user = await account_store.user_by_id(services.db, user_id)
    if user is None:
        return TotpSetup(False, "no_account", "That account doesn't exist any more.")
    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    if subscription is None or KIND not in subscription.allowed:
        return TotpSetup(False, "not_allowed", NOT_ALLOWED)
    try:
        box = installation_box(services.config)
    except SecretKeyError as error:
        return TotpSetup(False, "unavailable", str(error))
    secret = new_secret()
    encrypted = box.encrypt(secret)
    now = services.now()
    async with services.db.write() as conn:
        await reauth.require(conn, user_id, attempt, now)
        method = await totp_store.totp_method_in(conn, user_id)
        replacing = method is not None and method.verified
        if method is None:
            method_id = await totp_store.insert_totp_method(conn, user_id, encrypted, now)
        elif method.verified:
            method_id = method.id
            await totp_store.set_pending_secret(conn, method_id, encrypted)
        else:
            method_id = method.id
            await totp_store.replace_unverified_secret(conn, method_id, encrypted)
        await audit.record(
            conn,
            now,
            "mfa.totp_setup_started",
            actor_id=user_id,
            subject_id=user_id,
            detail="replacing" if replacing else None,
        )
    return TotpSetup(
        ok=True,
        status="ready",
        message=(
            "Scan the QR code with your authenticator app, or type the key into it, then enter "
            "the 6-digit code the app shows."
        ),
        uri=provisioning_uri(secret, account=user.email, issuer=subscription.name),
        key_groups=key_groups(secret),
        issuer=subscription.name,
        account=user.email,
        method_id=method_id,
        replacing=replacing,
    )


async def confirm_totp_setup(services: Services, user_id: int, code: str) -> VerifyResult:
    """The card's **Verify**: a code of the new secret proves the app holds it.

    On success the method is verified (or its new secret replaces the old), becomes the last
    method used, and the event is audited; a failure counts in the throttle and is audited.
    """
    now = services.now()
    security = services.config.security
    try:
        box = installation_box(services.config)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    async with services.db.write() as conn:
        locked = await _locked(conn, user_id, now, security)
        if locked is not None:
            return locked
        method = await totp_store.totp_method_in(conn, user_id)
        if method is None or (method.verified and method.pending_secret is None):
            return VerifyResult(False, "no_code", NO_SETUP)
        entered = normalise_code(code)
        if entered is None:
            result = VerifyResult(False, "malformed", CODE_MALFORMED, method_id=method.id)
            await codes.audit_rejection(conn, now, user_id, result, "setup totp")
            return result
        pending = method.pending_secret is not None
        try:
            secret = box.decrypt(method.pending_secret if pending else method.secret)
        except SecretKeyError as error:
            return VerifyResult(False, "unavailable", str(error))
        steps = matching_steps(secret, entered, now)
        if not steps or not await totp_store.confirm_secret(
            conn, method.id, steps[-1], now, pending=pending
        ):
            result = await _wrong(conn, user_id, method.id, now, security)
            await codes.audit_rejection(conn, now, user_id, result, "setup totp")
            return result
        await factor_store.set_last_method(conn, user_id, method.id)
        await _record_success(conn, user_id)
        await audit.record(
            conn,
            now,
            "mfa.totp_replaced" if pending else "mfa.method_verified",
            actor_id=user_id,
            subject_id=user_id,
            detail=KIND,
        )
        sms = await factor_store.method_of_kind(conn, user_id, "sms")
        old_sms = sms.destination if sms is not None and sms.verified else None
    if pending:
        await notices.notify(services, user_id, NoticeKind.METHOD_CHANGED, method=NAME)
    else:
        # The number set up before is an old destination to tell, as for any added method.
        await notices.notify(
            services, user_id, NoticeKind.METHOD_ADDED, method=NAME, old_phone=old_sms
        )
    return VerifyResult(
        ok=True,
        status="verified",
        message=f"{NAME} is set up: sign in with the code it shows.",
        method_id=method.id,
    )


# ---------------------------------------------------------------------------------------- sign-in


async def verify_totp_sign_in(services: Services, user_id: int, code: str) -> VerifyResult:
    """The Verify screen's **Verify** with the authenticator app chosen (nothing is sent).

    Success records the step (never accepted again), ``last_used_at`` and ``users.last_method_id``,
    clears the account's failure count, and is audited; so is every refusal.
    """
    now = services.now()
    security = services.config.security
    if not await totp_allowed(services, user_id):
        return VerifyResult(False, "no_code", NOT_ALLOWED)
    try:
        box = installation_box(services.config)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    async with services.db.write() as conn:
        locked = await _locked(conn, user_id, now, security)
        if locked is not None:
            return locked
        result = await judge_app_code(conn, box, user_id, code, now, security, "sign-in totp")
        if not result.ok:
            return result
        assert result.method_id is not None
        await factor_store.set_last_method(conn, user_id, result.method_id)
        await _record_success(conn, user_id)
        await audit.record(
            conn, now, "mfa.sign_in_verified", actor_id=user_id, subject_id=user_id, detail=KIND
        )
    return VerifyResult(True, "verified", "Verified.", method_id=result.method_id)


async def judge_app_code(
    conn: aiosqlite.Connection,
    box: SecretBox,
    user_id: int,
    code: str,
    now: float,
    security: SecurityConfig,
    what: str,
) -> VerifyResult:
    """Judge a code of the user's verified app inside the caller's write transaction (the account's
    wait checked already): a step is claimed, never accepted again; refusals are counted (a wrong
    code) and audited (``what`` names the purpose). Used by sign-in and by ``mfa.reauth``."""
    method = await totp_store.totp_method_in(conn, user_id)
    if method is None or not method.verified:
        return VerifyResult(False, "no_code", NO_APP)
    entered = normalise_code(code)
    if entered is None:
        result = VerifyResult(False, "malformed", CODE_MALFORMED, method_id=method.id)
        await codes.audit_rejection(conn, now, user_id, result, what)
        return result
    try:
        secret = box.decrypt(method.secret)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    steps = matching_steps(secret, entered, now)
    fresh = [step for step in steps if method.last_step is None or step > method.last_step]
    if steps and not fresh:
        result = VerifyResult(False, "replayed", CODE_REPLAYED, method_id=method.id)
        await codes.audit_rejection(conn, now, user_id, result, what)
        return result
    if not fresh:
        result = await _wrong(conn, user_id, method.id, now, security)
        await codes.audit_rejection(conn, now, user_id, result, what)
        return result
    if not await totp_store.claim_step(conn, method.id, fresh[-1], now):
        # Only reachable if the row changed under this transaction; refuse like a replay.
        result = VerifyResult(False, "replayed", CODE_REPLAYED, method_id=method.id)
        await codes.audit_rejection(conn, now, user_id, result, what)
        return result
    return VerifyResult(True, "verified", "Verified.", method_id=method.id)


@dataclass(frozen=True, slots=True)
class DemoAppCode:
    """What a demo user's authenticator app shows now (the demo inbox's aid)."""

    email: str
    code: str
    seconds_left: int
    """How long the code is the current one."""


async def demo_app_codes(services: Services, limit: int = 5) -> list[DemoAppCode]:
    """The current code of up to ``limit`` demo users' authenticator apps, for someone demoing
    without a phone at hand. Empty outside demo mode."""
    if not services.demo:
        return []
    try:
        box = installation_box(services.config)
    except SecretKeyError:
        return []
    now = services.now()
    step = step_at(now)
    seconds_left = int((step + 1) * STEP_SECONDS - now) or STEP_SECONDS
    codes_now = []
    for email, encrypted in await totp_store.verified_apps(services.db, limit):
        try:
            secret = box.decrypt(encrypted)
        except SecretKeyError:
            continue
        codes_now.append(DemoAppCode(email, code_at_step(secret, step), seconds_left))
    return codes_now


async def demo_current_code(services: Services, user_id: int) -> str | None:
    """The code the user's authenticator app shows now: for the demo inbox only.

    None outside demo mode, and when the user has no verified app.
    """
    if not services.demo:
        return None
    method = await totp_store.totp_method_of(services.db, user_id)
    if method is None or not method.verified:
        return None
    try:
        secret = installation_box(services.config).decrypt(method.secret)
    except SecretKeyError:
        return None
    return code_at_step(secret, step_at(services.now()))


# ---------------------------------------------------------------------------------------- helpers
# The account throttle is reached only through these three, so a move of its module is one edit.


async def _locked(
    conn: aiosqlite.Connection, user_id: int, now: float, security: SecurityConfig
) -> VerifyResult | None:
    return await codes.locked_result(conn, user_id, now, security)


async def _wrong(
    conn: aiosqlite.Connection,
    user_id: int,
    method_id: int,
    now: float,
    security: SecurityConfig,
) -> VerifyResult:
    """Count a wrong code in the account throttle; the verdict says whether it must wait now."""
    wait = await throttle.record_failure(conn, user_id, now, security)
    if wait is None:
        return VerifyResult(False, "wrong", CODE_WRONG, method_id=method_id)
    locked = await codes.locked_result(conn, user_id, now, security)
    retry_at = locked.retry_at if locked else None
    suffix = f" {locked.message}" if locked else ""
    return VerifyResult(False, "wrong", CODE_WRONG + suffix, retry_at=retry_at, method_id=method_id)


async def _record_success(conn: aiosqlite.Connection, user_id: int) -> None:
    await throttle.record_success(conn, user_id)
