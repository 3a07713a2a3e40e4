"""MFA methods (factors): listing them, confirming a setup, judging a sign-in code, managing them.

This is the API the Setup, Verify and Security screens call with ``app.services``; sending a code
(setup or sign-in) is the send pipeline, ``mfa.sending``. Every function is a coroutine; none raises
for something a person did (a wrong code): that comes back as a :class:`VerifyResult` whose
``message`` can be shown as it is. Only requests that the screens should never make (a method of
another user, removing the last method while MFA is required) raise :class:`FactorError`, whose
message is also fit to show.

The flows (user guide, "Setting up" and "Signing in with multi-factor authentication"):

- Setup: ``mfa.sending.start_email_setup`` or ``start_sms_setup`` sends a code; :func:`confirm_setup`
  with ``"email"`` or ``"sms"`` ("Verify") marks the method verified. Changing the phone number is
  the same on an existing SMS method: the old number stays in use until the new one is verified.
- Sign-in: :func:`default_method` (preferred, else last used, else most recently used) and
  ``mfa.sending.send_sign_in_code`` to it; the dropdown lists :func:`sign_in_methods`;
  :func:`verify_sign_in`.
- Security page: :func:`methods_of`, :func:`set_preferred`, :func:`remove_method`.
- The authenticator app (``mfa.totp``) is a method like the others here: listed, the default,
  removed. Nothing is sent to it: its setup starts with ``mfa.totp.start_totp_setup`` and
  :func:`confirm_setup` / :func:`verify_sign_in` hand its codes to ``mfa.totp``.

Every change to a user's methods needs the session's re-authentication grant (``mfa.reauth``):
:func:`set_preferred` and :func:`remove_method` check it themselves, a setup code is only sent
under it (``mfa.sending``), and every code is accepted only in the sign-in attempt (``attempt``)
that asked for it. Each change is followed by a security notice (``mfa.notices``) to the user's
address and, for a replaced or removed number, to that number.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from mfa import codes, notices, reauth, totp
from mfa.accounts import Account
from mfa.codes import VerifyResult
from mfa.delivery import mask_email
from mfa.keys import SecretBox, SecretKeyError, installation_box
from mfa.kinds import CODE_KINDS, KIND_NAMES, KINDS
from mfa.notices import NoticeKind
from mfa.phones import mask_phone
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store.factors import MfaMethod

__all__ = [
    "APP_CODE_LINE",
    "CODE_KINDS",
    "CODE_METHODS_NOTE",
    "KIND_NAMES",
    "FactorError",
    "LiveCode",
    "Method",
    "VerifyResult",
    "allowed_kinds",
    "confirm_setup",
    "default_method",
    "live_code",
    "mask_destination",
    "methods_of",
    "needs_setup",
    "remove_method",
    "set_preferred",
    "setup_choice",
    "shows_strength_note",
    "sign_in_methods",
    "verify_sign_in",
]

APP_CODE_LINE = "Enter the code from your authenticator app."
"""Where a sign-in code comes from when the authenticator app is chosen (nothing is sent)."""

CODE_METHODS_NOTE = (
    "Codes sent by email or text message are weaker than an authenticator app: anyone who can "
    "read your email or take over your phone number can receive them."
)
"""For the screens where people choose a method."""


class FactorError(ValueError):
    """A request the screens should not make; ``str(error)`` is a sentence fit to show."""


@dataclass(frozen=True, slots=True)
class Method:
    """A user's method as screens show it."""

    id: int
    kind: str
    """``"email"``, ``"sms"`` or ``"totp"`` (an authenticator app)."""
    destination: str
    """The address or E.164 number, in full (show :attr:`masked` instead on sign-in screens);
    empty for an authenticator app."""
    masked: str
    """``j***@example.com`` or ``+1 ***-***-1234``; empty for an authenticator app."""
    verified: bool
    last_used_at: float | None

    @property
    def name(self) -> str:
        """``Email``, ``SMS`` or ``Authenticator app``."""
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """For a dropdown: ``Email (j***@example.com)``, or ``Authenticator app``."""
        return f"{self.name} ({self.masked})" if self.masked else self.name

    @property
    def sends_codes(self) -> bool:
        """A code is sent to it (email, SMS); an authenticator app makes its own."""
        return self.kind in CODE_KINDS


@dataclass(frozen=True, slots=True)
class LiveCode:
    """The user's code that can still be entered, for a screen that opens after it was sent."""

    method_id: int
    kind: str
    masked_destination: str
    purpose: str
    """``"setup"`` or ``"sign_in"``."""
    expires_at: float
    tries_left: int


# ---------------------------------------------------------------------------------------- reading


def allowed_kinds_of(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds of ``allowed`` this version knows, in display order."""
    return tuple(kind for kind in KINDS if kind in allowed)


def shows_strength_note(kinds: tuple[str, ...] | list[str]) -> bool:
    """Whether a screen offering ``kinds`` says that sent codes are weaker than an app: only when
    both a sent code and the stronger authenticator app are on offer."""
    return totp.KIND in kinds and any(kind in CODE_KINDS for kind in kinds)


async def allowed_kinds(services: Services, user: Account) -> tuple[str, ...]:
    """The method kinds the user's subscription allows (``subscriptions.allowed_methods``)."""
    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    return allowed_kinds_of(subscription.allowed if subscription else ())


@dataclass(frozen=True, slots=True)
class SetupChoice:
    """The methods a user can set up now, and why email isn't one of them when it isn't."""

    kinds: tuple[str, ...]
    email_note: str = ""
    """Why email can't be set up (the address can't receive mail); empty when it can."""


async def setup_choice(services: Services, user: Account) -> SetupChoice:
    """The kinds the Setup screen offers: the allowed ones that can work for this user.

    Email is left out when the account's address can't receive mail (the MFA process failed such
    users, and they are still required to use MFA), with a sentence saying why.
    """
    fresh = await account_store.user_by_id(services.db, user.id)
    kinds = await allowed_kinds(services, user)
    if fresh is None or "email" not in kinds or fresh.email_deliverable:
        return SetupChoice(kinds)
    problem = fresh.email_problem or "it can't receive mail"
    others = tuple(kind for kind in kinds if kind != "email")
    if others:
        names = " or ".join(KIND_NAMES[kind] for kind in others)
        then = f"Set up {names} instead, or ask an administrator to correct your address."
    else:
        then = "Ask an administrator to correct your address."
    # Masked, like every other sentence about the address under it.
    address = mask_email(fresh.email)
    return SetupChoice(others, f"Codes can't be sent to your address {address}: {problem}. {then}")


async def methods_of(services: Services, user_id: int) -> list[Method]:
    """Every method of the user, verified or not, email first."""
    user = await account_store.user_by_id(services.db, user_id)
    if user is None:
        return []
    rows = await factor_store.methods_of(services.db, user_id)
    return sorted((_method(row, user) for row in rows), key=_display_order)


async def sign_in_methods(services: Services, user: Account) -> list[Method]:
    """The methods a sign-in code may go to: verified, and of a kind the subscription allows."""
    allowed = await allowed_kinds(services, user)
    return [m for m in await methods_of(services, user.id) if m.verified and m.kind in allowed]


async def needs_setup(services: Services, user: Account) -> bool:
    """True when MFA is required and the user has no method to receive a sign-in code."""
    fresh = await account_store.user_by_id(services.db, user.id) or user
    return fresh.mfa_required and not await sign_in_methods(services, fresh)


async def default_method(services: Services, user: Account) -> Method | None:
    """Where the sign-in code goes first: the preferred method, else the last one used, else the
    most recently used; None when the user has no usable method."""
    fresh = await account_store.user_by_id(services.db, user.id) or user
    usable = await sign_in_methods(services, fresh)
    by_id = {method.id: method for method in usable}
    for choice in (fresh.preferred_method_id, fresh.last_method_id):
        if choice is not None and choice in by_id:
            return by_id[choice]
    if not usable:
        return None
    return max(usable, key=lambda m: (m.last_used_at or 0.0, -KINDS.index(m.kind)))


async def live_code(services: Services, user: Account, *, attempt: str) -> LiveCode | None:
    """The code the user can enter now in ``attempt`` (sent to it, not used, not expired, not
    void), if any."""
    challenge = await factor_store.current_challenge(services.db, user.id)
    security = services.config.security
    if (
        challenge is None
        or challenge.attempt_id != attempt
        or challenge.consumed_at is not None
        or services.now() >= challenge.expires_at
        or challenge.attempts >= security.code_attempts
    ):
        return None
    for method in await methods_of(services, user.id):
        if method.id == challenge.method_id:
            return LiveCode(
                method_id=method.id,
                kind=method.kind,
                masked_destination=mask_destination(method.kind, challenge.destination),
                purpose=challenge.purpose,
                expires_at=challenge.expires_at,
                tries_left=security.code_attempts - challenge.attempts,
            )
    return None


# ----------------------------------------------------------------------------------------- setup


async def confirm_setup(
    services: Services, user: Account, kind: str, code: str, *, attempt: str
) -> VerifyResult:
    """A setup card's "Verify": the code sent by the setup of ``kind`` proves the method works.

    Only a code sent to this sign-in ``attempt`` counts (it was sent under the attempt's
    re-authentication grant). On success the method is verified at the address or number the code
    went to (a changed phone number takes effect only now), becomes the last method used, the event
    is audited, and the user is told (``mfa.notices``; a replaced number is told too).
    """
    if kind == totp.KIND:
        return await totp.confirm_totp_setup(services, user.id, code)
    if kind not in KINDS:
        raise FactorError(f"Unknown method {kind!r}.")
    now = services.now()
    try:
        box = installation_box(services.config)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    async with services.db.write() as conn:
        method = await factor_store.method_of_kind(conn, user.id, kind)
        if method is None:
            locked = await codes.locked_result(conn, user.id, now, services.config.security)
            if locked is not None:
                return locked
            return VerifyResult(False, "no_code", codes.CODE_USED_OR_REPLACED)
        check = await _check(conn, services, box, user.id, code, "setup", attempt, method.id)
        if not check.result.ok:
            await codes.audit_rejection(conn, now, user.id, check.result, f"setup {kind}")
            return check.result
        assert check.challenge is not None
        destination = check.challenge.destination
        changed = method.verified and method.destination != destination
        old_destination = method.destination if changed else None
        # A method added while a number is set up: that number is an old destination to tell.
        old_sms = None
        if kind != "sms":
            sms = await factor_store.method_of_kind(conn, user.id, "sms")
            old_sms = sms.destination if sms is not None and sms.verified else None
        await factor_store.mark_verified(conn, method.id, destination, now)
        await factor_store.set_last_method(conn, user.id, method.id)
        event = "mfa.phone_changed" if changed else "mfa.method_verified"
        await audit.record(
            conn,
            now,
            event,
            actor_id=user.id,
            subject_id=user.id,
            detail=f"{kind} {mask_destination(kind, destination)}",
        )
    masked = mask_destination(kind, destination)
    label = f"{KIND_NAMES[kind]} ({masked})"
    if changed:
        await notices.notify(
            services, user.id, NoticeKind.METHOD_CHANGED, method=KIND_NAMES[kind],
            old_phone=old_destination if kind == "sms" else None,
        )  # fmt: skip
    elif not method.verified:
        await notices.notify(
            services, user.id, NoticeKind.METHOD_ADDED, method=label, old_phone=old_sms
        )
    return VerifyResult(
        ok=True,
        status="verified",
        message=f"{KIND_NAMES[kind]} is set up: codes can go to {masked}.",
        method_id=method.id,
    )


# --------------------------------------------------------------------------------------- sign-in


async def verify_sign_in(
    services: Services,
    user: Account,
    code: str,
    method: Method | None = None,
    *,
    attempt: str,
) -> VerifyResult:
    """The Verify screen's "Verify": judge the code sent by :func:`send_sign_in_code`, or, with
    the authenticator app chosen (``method``), the code the app shows (``mfa.totp``).

    Only a code sent to this sign-in ``attempt`` is accepted: a code asked for in one session
    can't finish another session's sign-in.

    Success records ``last_used_at`` on the method and ``users.last_method_id`` (the next sign-in
    defaults to it), clears the account's failure count, and is audited; so is every failure.
    """
    if method is not None and method.kind == totp.KIND:
        return await totp.verify_totp_sign_in(services, user.id, code)
    now = services.now()
    try:
        box = installation_box(services.config)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    async with services.db.write() as conn:
        check = await _check(conn, services, box, user.id, code, "sign_in", attempt, None)
        result = check.result
        if not result.ok:
            await codes.audit_rejection(conn, now, user.id, result, "sign-in")
            return result
        assert result.method_id is not None
        method = await factor_store.method_by_id(conn, result.method_id)
        await factor_store.mark_used(conn, result.method_id, now)
        await factor_store.set_last_method(conn, user.id, result.method_id)
        await audit.record(
            conn,
            now,
            "mfa.sign_in_verified",
            actor_id=user.id,
            subject_id=user.id,
            detail=method.kind if method else None,
        )
    return result


# ------------------------------------------------------------------------------------- management


async def set_preferred(
    services: Services, user: Account, method_id: int | None, *, attempt: str
) -> None:
    """Make a verified method the default for sign-in (None: back to "last used").

    Raises ``mfa.reauth.ReauthRequired`` unless ``attempt`` re-authenticated recently.
    """
    async with services.db.write() as conn:
        await reauth.require(conn, user.id, attempt, services.now())
        detail = "last used"
        if method_id is not None:
            method = await factor_store.method_by_id(conn, method_id)
            if method is None or method.user_id != user.id or not method.verified:
                raise FactorError("That method isn't set up, so it can't be the default.")
            detail = method.kind
        await factor_store.set_preferred_method(conn, user.id, method_id)
        await audit.record(
            conn,
            services.now(),
            "mfa.preferred_set",
            actor_id=user.id,
            subject_id=user.id,
            detail=detail,
        )


async def remove_method(services: Services, user: Account, method_id: int, *, attempt: str) -> None:
    """Remove one of the user's methods; never the last verified one while MFA is required.

    Raises ``mfa.reauth.ReauthRequired`` unless ``attempt`` re-authenticated recently. The user is
    told (``mfa.notices``), and so is a removed phone number.
    """
    async with services.db.write() as conn:
        await reauth.require(conn, user.id, attempt, services.now())
        fresh = await account_store.user_by_id(conn, user.id)
        method = await factor_store.method_by_id(conn, method_id)
        if fresh is None or method is None or method.user_id != user.id:
            raise FactorError("That method doesn't exist any more.")
        others = [
            m
            for m in await factor_store.methods_in(conn, user.id)
            if m.verified and m.id != method.id
        ]
        if method.verified and fresh.mfa_required and not others:
            raise FactorError(
                "This is your only verification method and your subscription requires MFA. "
                "Set up another method before removing this one."
            )
        await factor_store.delete_method(conn, method.id)
        await audit.record(
            conn,
            services.now(),
            "mfa.method_removed",
            actor_id=user.id,
            subject_id=user.id,
            detail=method.kind,
        )
    if method.verified:
        label = f"{KIND_NAMES.get(method.kind, method.kind)} ({_masked_row(method, fresh.email)})"
        await notices.notify(
            services, user.id, NoticeKind.METHOD_REMOVED, method=label,
            old_phone=method.destination if method.kind == "sms" else None,
        )  # fmt: skip


# --------------------------------------------------------------------------------------- helpers


async def _check(
    conn: aiosqlite.Connection,
    services: Services,
    box: SecretBox,
    user_id: int,
    code: str,
    purpose: str,
    attempt: str,
    method_id: int | None,
) -> codes.CodeCheck:
    try:
        return await codes.check_code(
            conn,
            user_id=user_id,
            entered=code,
            purpose=purpose,
            now=services.now(),
            security=services.config.security,
            box=box,
            attempt_id=attempt,
            method_id=method_id,
        )
    except SecretKeyError as error:
        return codes.CodeCheck(VerifyResult(False, "unavailable", str(error)), None)


def mask_destination(kind: str, destination: str) -> str:
    """An address or number as sign-in screens show it: ``j***@example.com``, ``+1 ***-***-1234``;
    empty for an authenticator app, which has no destination."""
    if kind == totp.KIND:
        return ""
    return mask_email(destination) if kind == "email" else mask_phone(destination)


def _masked_row(row: MfaMethod, account_email: str) -> str:
    return mask_destination(row.kind, account_email if row.kind == "email" else row.destination)


def _method(row: MfaMethod, user: Account) -> Method:
    # An email method follows the account's address (an administrator may correct it).
    destination = user.email if row.kind == "email" else row.destination
    return Method(
        id=row.id,
        kind=row.kind,
        destination=destination,
        masked=mask_destination(row.kind, destination),
        verified=row.verified,
        last_used_at=row.last_used_at,
    )


def _display_order(method: Method) -> tuple[int, int]:
    return (KINDS.index(method.kind) if method.kind in KINDS else len(KINDS), method.id)
