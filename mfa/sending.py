"""The send pipeline: a code by email or text message, from the rules to the record of it.

This is what the Setup and Verify screens call to send a code (with ``app.services``); methods
themselves (listing, verifying, removing, the default) are ``mfa.factors``. A send:

1. reads everything its rules look at once (``store.factors.send_state``: the account's failure
   count and wait, the last successful send to the method, the sends in the window, the
   method), inside the
   ``BEGIN IMMEDIATE`` transaction that also takes the method's next counter, so concurrent sends
   from several processes never share a code;
2. decides in one place (:func:`send_refusal`, a pure function);
3. delivers, outside any transaction;
4. writes once: only a delivered code becomes the live one (replacing any earlier code) and counts
   toward the cooldown and the limit, so a failed send consumes nothing and starts no cooldown.

The rules, with the defaults of ``SecurityConfig``: an account that has to wait after too many
failures (``mfa.throttle``) gets no code; another code may be sent to the same method
``resend_cooldown_seconds`` (30) after the last send to it that *succeeded* (a code to another
method goes at once: people switch because the first code didn't come), and at most
``sends_per_window`` (5) per ``send_window_seconds`` (900) per account, whatever the methods,
counted by every process on the host.

Nothing here raises for something a person did (an invalid number, a mail server that is down):
that comes back as a :class:`SendResult` whose ``message`` can be shown as it is (it may contain
user-typed text: render it literally). Every delivery attempt is logged in the ``outbox`` table; the
message body (with its code) is kept there only in demo mode, for the demo inbox.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mfa import codes, reauth, throttle
from mfa.accounts import Account
from mfa.address_recheck import current_verdict
from mfa.config import Config, SecurityConfig
from mfa.delivery import DeliveryError, Message, SmsProvider, mask_email
from mfa.delivery.email import EmailSender
from mfa.delivery.sms import sms_provider_from_config
from mfa.factors import (
    APP_CODE_LINE,
    FactorError,
    allowed_kinds,
    mask_destination,
    sign_in_methods,
)
from mfa.keys import SecretKeyError, installation_box
from mfa.phones import InvalidPhoneNumber, normalise_mobile
from mfa.services import Services
from mfa.wording import clause, describe_wait, lock_sentence, resend_wait_sentence
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store.factors import OtpChallenge, SendState

__all__ = [
    "Deliverer",
    "Refusal",
    "SendResult",
    "SendStatus",
    "deliverer_for",
    "next_send_at",
    "send_refusal",
    "send_sign_in_code",
    "send_step_up_code",
    "send_wait",
    "start_email_setup",
    "start_sms_setup",
]

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
class Refusal:
    """Why no code may be sent now, and from when one may."""

    status: Literal["locked", "cooldown", "limit"]
    message: str
    available_at: float | None
    """When a send will be accepted; None (``locked`` only): when an administrator unlocks."""


# --------------------------------------------------------------------------------------- delivery


class Deliverer:
    """Hands messages to the configured mail server or SMS provider.

    The ``outbox`` SMS provider delivers nothing by itself: the pipeline logs every message in the
    ``outbox`` table (with its body in demo mode), which is where the demo inbox reads it.
    """

    def __init__(self, config: Config, *, environ: Mapping[str, str] | None = None) -> None:
        self.email: EmailSender = EmailSender(config.email, environ=environ)
        self.sms: SmsProvider = sms_provider_from_config(config, self.email, environ=environ)

    async def deliver(self, message: Message) -> None:
        """Deliver ``message``; raises ``DeliveryError`` with a sentence for the person."""
        if message.channel == "email":
            await self.email.send(message)
        else:
            await self.sms.send(message)


def deliverer_for(services: Services) -> Deliverer:
    """The services' :class:`Deliverer`, built from ``services.config`` on first use."""
    if services.deliverer is None:
        services.deliverer = Deliverer(services.config)
    return services.deliverer


# ------------------------------------------------------------------------------------------ rules


def send_refusal(state: SendState, now: float, security: SecurityConfig) -> Refusal | None:
    """Whether a code may be sent now, from what :func:`store.factors.send_state` read.

    None: it may. Otherwise why not, the account's lock first, then the limit, then the cooldown.
    """
    wait = throttle.wait_now(state.failures, state.locked_until, now, security)
    if wait is not None:
        return Refusal("locked", lock_sentence(wait), now + wait if math.isfinite(wait) else None)
    return send_wait(state.last_sent_at, state.sent_since, now, security)


def send_wait(
    last_sent_at: float | None,
    sent: tuple[float, ...] | list[float],
    now: float,
    security: SecurityConfig,
) -> Refusal | None:
    """The cooldown and the send limit: why another code can't be sent at ``now`` (None: it can).

    ``last_sent_at`` is the last successful send; ``sent`` the successful sends, oldest first (only
    those within the window count; a send exactly a window ago is out).
    """
    cooldown_end = None if last_sent_at is None else last_sent_at + security.resend_cooldown_seconds
    window_end = _window_end(sent, now, security)
    if window_end is not None and window_end > now and window_end >= (cooldown_end or 0):
        return Refusal(
            "limit",
            f"You've asked for {security.sends_per_window} codes in the last "
            f"{describe_wait(security.send_window_seconds)}, the most allowed. You can ask for "
            f"another in {describe_wait(window_end - now)}.",
            window_end,
        )
    if cooldown_end is not None and cooldown_end > now:
        return Refusal("cooldown", resend_wait_sentence(cooldown_end - now), cooldown_end)
    return None


def _window_end(
    sent: tuple[float, ...] | list[float], now: float, security: SecurityConfig
) -> float | None:
    """When the send limit stops binding, if it binds now."""
    recent = [at for at in sent if at > now - security.send_window_seconds]
    if len(recent) < security.sends_per_window:
        return None
    return recent[len(recent) - security.sends_per_window] + security.send_window_seconds


async def next_send_at(services: Services, user: Account, kind: str | None = None) -> float | None:
    """When the user may ask for another code to their ``kind`` method (a Resend countdown's
    end); None: now. Without ``kind``, the cooldown after the account's last send to any method.
    """
    security = services.config.security
    now = services.now()
    async with services.db.write() as conn:
        state = await factor_store.send_state(
            conn, user.id, now - security.send_window_seconds, kind
        )
    if state is None:
        return None
    wait = send_wait(state.last_sent_at, state.sent_since, now, security)
    return wait.available_at if wait else None


# ----------------------------------------------------------------------------------------- setup


async def start_email_setup(services: Services, user: Account, *, attempt: str) -> SendResult:
    """The email card's "Send me the code": a setup code to the account's own address.

    Raises ``mfa.reauth.ReauthRequired`` unless ``attempt`` holds a re-authentication grant.
    """
    fresh = await account_store.user_by_id(services.db, user.id) or user
    masked = mask_email(fresh.email)
    if "email" not in await allowed_kinds(services, fresh):
        return SendResult(
            False, "not_allowed", "Your subscription doesn't allow codes by email.", masked
        )
    deliverable, problem = await current_verdict(services, fresh)
    if not deliverable:
        problem = problem or "it can't receive mail"
        # Masked like everywhere else on the screen: the full address is never shown there.
        return SendResult(
            False,
            "undeliverable",
            f"Codes can't be sent to your address {masked}: {clause(problem)}. Choose another "
            "method, or ask an administrator to correct your address.",
            masked,
        )
    return await _send(services, fresh, "email", fresh.email, "setup", attempt)


async def start_sms_setup(
    services: Services, user: Account, phone_text: str, *, attempt: str
) -> SendResult:
    """The SMS card's "Send code": a setup code to the number typed (also how a number changes).

    Raises ``mfa.reauth.ReauthRequired`` unless ``attempt`` holds a re-authentication grant.
    """
    fresh = await account_store.user_by_id(services.db, user.id) or user
    if "sms" not in await allowed_kinds(services, fresh):
        return SendResult(False, "not_allowed", "Your subscription doesn't allow codes by SMS.")
    try:
        number = normalise_mobile(phone_text, services.config.sms.default_region)
    except InvalidPhoneNumber as error:
        return SendResult(False, "invalid_number", error.message)
    return await _send(services, fresh, "sms", number, "setup", attempt)


# --------------------------------------------------------------------------------------- sign-in


async def send_sign_in_code(
    services: Services, user: Account, method_id: int, *, attempt: str
) -> SendResult:
    """Send a sign-in code to one of the user's verified methods (the default, or the dropdown's).

    The code is bound to the sign-in ``attempt``: only that attempt can enter it.
    """
    return await _send_to_method(services, user, method_id, "sign_in", attempt)


async def send_step_up_code(
    services: Services, user: Account, method_id: int, *, attempt: str
) -> SendResult:
    """Send a code to one of the user's verified methods to re-authenticate (``mfa.reauth``)."""
    return await _send_to_method(services, user, method_id, "step_up", attempt)


async def _send_to_method(
    services: Services, user: Account, method_id: int, purpose: str, attempt: str
) -> SendResult:
    fresh = await account_store.user_by_id(services.db, user.id) or user
    method = next((m for m in await sign_in_methods(services, fresh) if m.id == method_id), None)
    if method is None:
        return SendResult(
            False, "not_available", "That method isn't set up any more. Choose another method."
        )
    if not method.sends_codes:
        return SendResult(False, "not_available", APP_CODE_LINE, method_id=method.id)
    deliverable, problem = (
        await current_verdict(services, fresh) if method.kind == "email" else (True, None)
    )
    if not deliverable:
        problem = problem or "it can't receive mail"
        return SendResult(
            False,
            "undeliverable",
            f"Codes can't be sent to your address {method.masked}: {clause(problem)}. Choose another "
            "method.",
            method.masked,
            method_id=method.id,
        )
    return await _send(services, fresh, method.kind, method.destination, purpose, attempt)


# -------------------------------------------------------------------------------------- pipeline


async def _send(
    services: Services, user: Account, kind: str, destination: str, purpose: str, attempt: str
) -> SendResult:
    """Send a code for ``kind`` to ``destination``: read, decide, deliver, then record.

    A setup code (a method added or a number changed) is sent only under the attempt's
    re-authentication grant; every code is bound to the attempt.
    """
    security = services.config.security
    masked = mask_destination(kind, destination)
    try:
        box = installation_box(services.config)
    except SecretKeyError as error:
        return SendResult(False, "unavailable", str(error), masked)
    now = services.now()
    async with services.db.write() as conn:
        state = await factor_store.send_state(
            conn, user.id, now - security.send_window_seconds, kind
        )
        if state is None:
            raise FactorError("That account doesn't exist any more.")
        if purpose == "setup":
            await reauth.require(conn, user.id, attempt, now)
        refusal = send_refusal(state, now, security)
        if refusal is not None:
            return SendResult(
                False,
                refusal.status,
                refusal.message,
                masked,
                resend_available_at=refusal.available_at,
            )
        created = state.method is None
        method = state.method or await factor_store.add_method(
            conn, user.id, kind, destination, box.encrypt(codes.new_secret()), now
        )
        try:
            secret = box.decrypt(method.secret)
        except SecretKeyError as error:
            return SendResult(False, "unavailable", str(error), masked)
        # Taken before delivering, so concurrent sends never share a code; it counts for nothing
        # until the delivery succeeded.
        counter = await factor_store.next_counter(conn, method.id)

    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    products = await account_store.products_of(services.db, user.subscription_id)
    message = _message(
        kind,
        destination,
        purpose,
        codes.code_for(secret, counter),
        security,
        subscription.name if subscription else "",
        products,
    )
    try:
        await deliverer_for(services).deliver(message)
    except DeliveryError as error:
        async with services.db.write() as conn:
            if created:
                # The row made for this send holds a number (or address) nobody has proven and no
                # code reached: a failed send keeps nothing of it.
                await factor_store.forget_unused_method(conn, method.id)
            await audit.log_delivery(
                conn, services.now(), kind, destination, message.subject, None, error.message
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
    expires_at = sent_at + security.code_lifetime_seconds
    live = OtpChallenge(
        user_id=user.id,
        method_id=method.id,
        counter=counter,
        issued_at=sent_at,
        expires_at=expires_at,
        attempts=0,
        consumed_at=None,
        destination=destination,
        purpose=purpose,
        attempt_id=attempt,
    )
    keep = max(security.send_window_seconds, security.resend_cooldown_seconds)
    async with services.db.write() as conn:
        sends = await factor_store.record_sent_code(conn, live, forget_before=sent_at - keep)
        # A setup code for a verified method (a changed number) changes nothing until confirmed.
        if method.destination != destination and (purpose == "sign_in" or not method.verified):
            await factor_store.set_destination(conn, method.id, destination)
        body = message.body if services.demo else None
        await audit.log_delivery(conn, sent_at, kind, destination, message.subject, body, None)
        await audit.record(
            conn,
            sent_at,
            "mfa.code_sent",
            actor_id=user.id,
            subject_id=user.id,
            detail=f"{purpose} {kind} {masked}",
        )
    wait = send_wait(sends[-1] if sends else None, sends, sent_at, security)
    available = wait.available_at if wait else None
    return SendResult(
        True, "sent", f"We sent a code to {masked}.", masked, available, method.id, expires_at
    )


def _message(
    kind: str,
    destination: str,
    purpose: str,
    code: str,
    security: SecurityConfig,
    subscription: str = "",
    products: list[str] | None = None,
) -> Message:
    if kind == "email":
        subject, body = codes.message_text(
            code, purpose, security, subscription=subscription, products=products or ()
        )
        return Message(channel="email", recipient=destination, subject=subject, body=body)
    return Message(
        channel="sms",
        recipient=destination,
        subject="",
        body=codes.sms_text(code, purpose, security),
    )


def _with_alternative(message: str) -> str:
    """A delivery failure's message, ending with the suggestion to choose another method."""
    if "another method" in message:
        return message
    return f"{message} Or choose another method."
