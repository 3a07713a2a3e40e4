"""MFA methods (factors): setting them up, sending sign-in codes, verifying them, managing them.

This is the API the Setup, Verify and Security screens call with ``app.services``. Every function
is a coroutine; none raises for something a person did (a wrong code, an invalid number, a mail
server that is down): those come back as a :class:`SendResult` or a :class:`VerifyResult` whose
``message`` can be shown as it is (it may contain user-typed text: render it literally). Only
requests that the screens should never make (a method of another user, removing the last method
while MFA is required) raise :class:`FactorError`, whose message is also fit to show.

The flows (user guide, "Setting up" and "Signing in with multi-factor authentication"):

- Setup, email: :func:`start_email_setup` ("Send me the code") sends a code to the account's
  address; :func:`confirm_setup` with ``"email"`` ("Verify") marks the method verified.
- Setup, SMS: :func:`start_sms_setup` with what the person typed ("Send code"); the number is
  normalised to E.164; :func:`confirm_setup` with ``"sms"``. Changing the phone number is the same
  call on an existing SMS method: the old number stays in use until the new one is verified.
- Sign-in: :func:`default_method` (preferred, else last used, else most recently used) and
  :func:`send_sign_in_code` to it; the dropdown lists :func:`sign_in_methods`; :func:`verify_sign_in`.
- Security page: :func:`methods_of`, :func:`set_preferred`, :func:`remove_method`.

Sends go through a :class:`Deliverer` built from the configuration on first use
(:func:`deliverer_for`). Each delivery attempt is logged in the ``outbox`` table; the message body
(with its code) is kept there only in demo mode, for the demo inbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from mfa import codes
from mfa.codes import VerifyResult
from mfa.config import Config
from mfa.delivery import (
    Channel,
    DeliveryError,
    EmailSender,
    Message,
    SmsProvider,
    mask_email,
    sms_provider_from_config,
)
from mfa.keys import SecretBox, SecretKeyError, secret_box
from mfa.phones import InvalidPhoneNumber, mask_phone, normalise_mobile
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store.factors import MfaMethod
from store.models import User

__all__ = [
    "CODE_METHODS_NOTE",
    "KIND_NAMES",
    "Deliverer",
    "FactorError",
    "LiveCode",
    "Method",
    "SendResult",
    "VerifyResult",
    "allowed_kinds",
    "confirm_setup",
    "default_method",
    "deliverer_for",
    "live_code",
    "methods_of",
    "needs_setup",
    "next_send_at",
    "remove_method",
    "send_sign_in_code",
    "set_preferred",
    "sign_in_methods",
    "start_email_setup",
    "start_sms_setup",
    "verify_sign_in",
]

KINDS = ("email", "sms")
"""The method kinds this version can set up, in display order."""

KIND_NAMES = {"email": "Email", "sms": "SMS"}
"""What each kind is called on screen."""

CODE_METHODS_NOTE = (
    "Codes sent by email or text message are weaker than an authenticator app: anyone who can "
    "read your email or take over your phone number can receive them."
)
"""For the screens where people choose a method (DESIGN.md section 4)."""

SendStatus = Literal[
    "sent",
    "cooldown",
    "limit",
    "delivery_failed",
    "undeliverable",
    "invalid_number",
    "not_allowed",
    "not_available",
    "locked",
    "unavailable",
]
"""How a send ended.

``sent``: delivered; the code is live. ``cooldown`` / ``limit``: too soon or too many (see
``resend_available_at``); nothing was sent. ``delivery_failed``: the mail server or SMS gateway
failed; nothing was consumed and an earlier code still works. ``undeliverable``: the account's
address can't receive mail. ``invalid_number``: what was typed isn't a mobile number.
``not_allowed``: the subscription doesn't allow this kind. ``not_available``: the method isn't set
up (any more). ``locked``: the account has to wait after too many failures. ``unavailable``: the
installation can't make codes (the key file); the message says what an administrator must do.
"""


class FactorError(ValueError):
    """A request the screens should not make; ``str(error)`` is a sentence fit to show."""


@dataclass(frozen=True, slots=True)
class Method:
    """A user's method as screens show it."""

    id: int
    kind: str
    """``"email"`` or ``"sms"``."""
    destination: str
    """The address or E.164 number, in full (show :attr:`masked` instead on sign-in screens)."""
    masked: str
    """``j***@example.com`` or ``+1 ***-***-1234``."""
    verified: bool
    last_used_at: float | None

    @property
    def name(self) -> str:
        """``Email`` or ``SMS``."""
        return KIND_NAMES.get(self.kind, self.kind)

    @property
    def label(self) -> str:
        """For a dropdown: ``Email (j***@example.com)``."""
        return f"{self.name} ({self.masked})"


@dataclass(frozen=True, slots=True)
class SendResult:
    """What happened when a code was to be sent; ``message`` is shown as it is."""

    ok: bool
    status: SendStatus
    message: str
    masked_destination: str | None = None
    resend_available_at: float | None = None
    """When another send will be accepted (a countdown's end); None means at once."""
    method_id: int | None = None
    expires_at: float | None = None
    """When the code just sent stops working (``sent`` only)."""


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


# --------------------------------------------------------------------------------------- delivery


class Deliverer:
    """Hands messages to the configured mail server or SMS provider.

    The ``outbox`` SMS provider delivers nothing by itself: :func:`_deliver` logs every message in the
    ``outbox`` table (with its body in demo mode), which is where the demo inbox reads it.
    """

    def __init__(self, config: Config, *, environ: Mapping[str, str] | None = None) -> None:
        self.email: EmailSender = EmailSender(config.email, environ=environ)
        self.sms: SmsProvider = sms_provider_from_config(
            config, self.email, _kept_by_the_outbox_log, environ=environ
        )

    async def deliver(self, message: Message) -> None:
        """Deliver ``message``; raises ``DeliveryError`` with a sentence for the person."""
        if message.channel == "email":
            await self.email.send(message)
        else:
            await self.sms.send(message)


async def _kept_by_the_outbox_log(message: Message) -> None:
    """The outbox provider's record step: nothing to do, every delivery is logged by _deliver."""


def deliverer_for(services: Services) -> Deliverer:
    """The services' :class:`Deliverer`, built from ``services.config`` on first use."""
    if services.deliverer is None:
        services.deliverer = Deliverer(services.config)
    return services.deliverer


# ---------------------------------------------------------------------------------------- reading


def allowed_kinds_of(allowed: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(kind for kind in KINDS if kind in allowed)


async def allowed_kinds(services: Services, user: User) -> tuple[str, ...]:
    """The method kinds the user's subscription allows (``subscriptions.allowed_methods``)."""
    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    return allowed_kinds_of(subscription.allowed if subscription else ())


async def methods_of(services: Services, user_id: int) -> list[Method]:
    """Every method of the user, verified or not, email first."""
    user = await account_store.user_by_id(services.db, user_id)
    if user is None:
        return []
    rows = await factor_store.methods_of(services.db, user_id)
    return sorted((_method(row, user) for row in rows), key=_display_order)


async def sign_in_methods(services: Services, user: User) -> list[Method]:
    """The methods a sign-in code may go to: verified, and of a kind the subscription allows."""
    allowed = await allowed_kinds(services, user)
    return [m for m in await methods_of(services, user.id) if m.verified and m.kind in allowed]


async def needs_setup(services: Services, user: User) -> bool:
    """True when MFA is required and the user has no method to receive a sign-in code."""
    fresh = await account_store.user_by_id(services.db, user.id) or user
    return fresh.mfa_required and not await sign_in_methods(services, fresh)


async def default_method(services: Services, user: User) -> Method | None:
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


async def live_code(services: Services, user: User) -> LiveCode | None:
    """The code the user can enter now (sent, not used, not expired, not void), if any."""
    challenge = await factor_store.current_challenge(services.db, user.id)
    security = services.config.security
    if (
        challenge is None
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
                masked_destination=_mask(method.kind, challenge.destination),
                purpose=challenge.purpose,
                expires_at=challenge.expires_at,
                tries_left=security.code_attempts - challenge.attempts,
            )
    return None


async def next_send_at(services: Services, user: User) -> float | None:
    """When the user may ask for another code (a Resend countdown's end); None: now."""
    async with services.db.write() as conn:
        return await codes.next_send_at(conn, user.id, services.now(), services.config.security)


# ----------------------------------------------------------------------------------------- setup


async def start_email_setup(services: Services, user: User) -> SendResult:
    """The email card's "Send me the code": a setup code to the account's own address."""
    fresh = await account_store.user_by_id(services.db, user.id) or user
    masked = mask_email(fresh.email)
    if "email" not in await allowed_kinds(services, fresh):
        return SendResult(
            False, "not_allowed", "Your subscription doesn't allow codes by email.", masked
        )
    if not fresh.email_deliverable:
        problem = fresh.email_problem or "it can't receive mail"
        return SendResult(
            False,
            "undeliverable",
            f"Codes can't be sent to your address {fresh.email}: {problem}. Choose another "
            "method, or ask an administrator to correct your address.",
            masked,
        )
    return await _send(services, fresh, "email", fresh.email, "setup")


async def start_sms_setup(services: Services, user: User, phone_text: str) -> SendResult:
    """The SMS card's "Send code": a setup code to the number typed (also how a number changes)."""
    fresh = await account_store.user_by_id(services.db, user.id) or user
    if "sms" not in await allowed_kinds(services, fresh):
        return SendResult(False, "not_allowed", "Your subscription doesn't allow codes by SMS.")
    try:
        number = normalise_mobile(phone_text, services.config.sms.default_region)
    except InvalidPhoneNumber as error:
        return SendResult(False, "invalid_number", error.message)
    return await _send(services, fresh, "sms", number, "setup")


async def confirm_setup(services: Services, user: User, kind: str, code: str) -> VerifyResult:
    """A setup card's "Verify": the code sent by the setup of ``kind`` proves the method works.

    On success the method is verified at the address or number the code went to (a changed phone
    number takes effect only now), becomes the last method used, and the event is audited.
    """
    if kind not in KINDS:
        raise FactorError(f"Unknown method {kind!r}.")
    now = services.now()
    try:
        box = secret_box(services.config.key_path, services.config.host.group)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    async with services.db.write() as conn:
        method = await factor_store.method_of_kind(conn, user.id, kind)
        if method is None:
            locked = await codes.locked_result(conn, user.id, now, services.config.security)
            if locked is not None:
                return locked
            return VerifyResult(False, "no_code", codes.CODE_USED_OR_REPLACED)
        check = await _check(conn, services, box, user.id, code, "setup", method.id)
        if not check.result.ok:
            await _audit_rejection(conn, now, user.id, check.result, f"setup {kind}")
            return check.result
        assert check.challenge is not None
        destination = check.challenge.destination
        changed = method.verified and method.destination != destination
        await factor_store.mark_verified(conn, method.id, destination, now)
        await factor_store.set_last_method(conn, user.id, method.id)
        event = "mfa.phone_changed" if changed else "mfa.method_verified"
        await audit.record(
            conn,
            now,
            event,
            actor_id=user.id,
            subject_id=user.id,
            detail=f"{kind} {_mask(kind, destination)}",
        )
    masked = _mask(kind, destination)
    return VerifyResult(
        ok=True,
        status="verified",
        message=f"{KIND_NAMES[kind]} is set up: codes can go to {masked}.",
        method_id=method.id,
    )


# --------------------------------------------------------------------------------------- sign-in


async def send_sign_in_code(services: Services, user: User, method_id: int) -> SendResult:
    """Send a sign-in code to one of the user's verified methods (the default, or the dropdown's)."""
    fresh = await account_store.user_by_id(services.db, user.id) or user
    method = next((m for m in await sign_in_methods(services, fresh) if m.id == method_id), None)
    if method is None:
        return SendResult(
            False, "not_available", "That method isn't set up any more. Choose another method."
        )
    if method.kind == "email" and not fresh.email_deliverable:
        problem = fresh.email_problem or "it can't receive mail"
        return SendResult(
            False,
            "undeliverable",
            f"Codes can't be sent to your address {fresh.email}: {problem}. Choose another method.",
            method.masked,
            method_id=method.id,
        )
    return await _send(services, fresh, method.kind, method.destination, "sign_in")


async def verify_sign_in(services: Services, user: User, code: str) -> VerifyResult:
    """The Verify screen's "Verify": judge the code sent by :func:`send_sign_in_code`.

    Success records ``last_used_at`` on the method and ``users.last_method_id`` (the next sign-in
    defaults to it), clears the account's failure count, and is audited; so is every failure.
    """
    now = services.now()
    try:
        box = secret_box(services.config.key_path, services.config.host.group)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    async with services.db.write() as conn:
        check = await _check(conn, services, box, user.id, code, "sign_in", None)
        result = check.result
        if not result.ok:
            await _audit_rejection(conn, now, user.id, result, "sign-in")
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


async def set_preferred(services: Services, user: User, method_id: int | None) -> None:
    """Make a verified method the default for sign-in (None: back to "last used")."""
    async with services.db.write() as conn:
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


async def remove_method(services: Services, user: User, method_id: int) -> None:
    """Remove one of the user's methods; never the last verified one while MFA is required."""
    async with services.db.write() as conn:
        fresh = await factor_store.user_in(conn, user.id)
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


# --------------------------------------------------------------------------------------- helpers


async def _send(
    services: Services, user: User, kind: str, destination: str, purpose: str
) -> SendResult:
    """Send a code for ``kind`` to ``destination``: rules, delivery, then the record of it.

    The counter is advanced before delivering (so concurrent sends never share a code), but the
    code becomes live, and the cooldown and limit count it, only after the delivery succeeded: a
    failed send leaves the earlier code working and starts no cooldown.
    """
    security = services.config.security
    masked = _mask(kind, destination)
    try:
        box = secret_box(services.config.key_path, services.config.host.group)
    except SecretKeyError as error:
        return SendResult(False, "unavailable", str(error), masked)
    now = services.now()
    async with services.db.write() as conn:
        fresh = await factor_store.user_in(conn, user.id)
        if fresh is None:
            raise FactorError("That account doesn't exist any more.")
        locked = await codes.locked_result(conn, user.id, now, security)
        if locked is not None:
            return SendResult(
                False, "locked", locked.message, masked, resend_available_at=locked.retry_at
            )
        wait = await codes.send_wait(conn, user.id, now, security)
        if wait is not None:
            return SendResult(
                False, wait.reason, wait.message, masked, resend_available_at=wait.available_at
            )
        method = await factor_store.method_of_kind(conn, user.id, kind)
        if method is None:
            method_id = await factor_store.insert_method(
                conn, user.id, kind, destination, box.encrypt(codes.new_secret()), now
            )
            method = await factor_store.method_by_id(conn, method_id)
            assert method is not None
        try:
            secret = box.decrypt(method.secret)
        except SecretKeyError as error:
            return SendResult(False, "unavailable", str(error), masked)
        counter = await factor_store.next_counter(conn, method.id)

    code = codes.code_for(secret, counter)
    if kind == "email":
        subject, body = codes.message_text(code, purpose, security)
    else:
        subject, body = "", codes.sms_text(code, purpose, security)
    channel: Channel = "email" if kind == "email" else "sms"
    message = Message(channel=channel, recipient=destination, subject=subject, body=body)
    try:
        await deliverer_for(services).deliver(message)
    except DeliveryError as error:
        async with services.db.write() as conn:
            await audit.log_delivery(
                conn, services.now(), kind, destination, subject, None, error.message
            )
            await audit.record(
                conn,
                services.now(),
                "mfa.code_send_failed",
                actor_id=user.id,
                subject_id=user.id,
                detail=f"{kind} {masked}: {error.reason} {error.detail}".strip(),
            )
        return SendResult(False, "delivery_failed", _with_alternative(error.message), masked)

    sent_at = services.now()
    async with services.db.write() as conn:
        expires_at = await codes.issue(
            conn,
            user_id=user.id,
            method_id=method.id,
            counter=counter,
            destination=destination,
            purpose=purpose,
            now=sent_at,
            security=security,
        )
        # A setup code for a verified method (a changed number) changes nothing until confirmed.
        if method.destination != destination and (purpose == "sign_in" or not method.verified):
            await factor_store.set_destination(conn, method.id, destination)
        await audit.log_delivery(
            conn, sent_at, kind, destination, subject, body if services.demo else None, None
        )
        await audit.record(
            conn,
            sent_at,
            "mfa.code_sent",
            actor_id=user.id,
            subject_id=user.id,
            detail=f"{purpose} {kind} {masked}",
        )
        available = await codes.next_send_at(conn, user.id, sent_at, security)
    return SendResult(
        True, "sent", f"We sent a code to {masked}.", masked, available, method.id, expires_at
    )


async def _check(
    conn: aiosqlite.Connection,
    services: Services,
    box: SecretBox,
    user_id: int,
    code: str,
    purpose: str,
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
            method_id=method_id,
        )
    except SecretKeyError as error:
        return codes.CodeCheck(VerifyResult(False, "unavailable", str(error)), None)


async def _audit_rejection(
    conn: aiosqlite.Connection, now: float, user_id: int, result: VerifyResult, what: str
) -> None:
    if result.status in ("malformed", "unavailable"):
        return
    await audit.record(
        conn,
        now,
        "mfa.code_rejected",
        actor_id=user_id,
        subject_id=user_id,
        detail=f"{what}: {result.status}",
    )


def _with_alternative(message: str) -> str:
    """A delivery failure's message, ending with the suggestion to choose another method."""
    if "another method" in message:
        return message
    return f"{message} Or choose another method."


def _mask(kind: str, destination: str) -> str:
    return mask_email(destination) if kind == "email" else mask_phone(destination)


def _method(row: MfaMethod, user: User) -> Method:
    # An email method follows the account's address (an administrator may correct it).
    destination = user.email if row.kind == "email" else row.destination
    return Method(
        id=row.id,
        kind=row.kind,
        destination=destination,
        masked=_mask(row.kind, destination),
        verified=row.verified,
        last_used_at=row.last_used_at,
    )


def _display_order(method: Method) -> tuple[int, int]:
    return (KINDS.index(method.kind) if method.kind in KINDS else len(KINDS), method.id)
