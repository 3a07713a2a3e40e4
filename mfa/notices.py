"""Security notices: telling a user, by email, that something changed about how they sign in.

A notice goes to the account's address when that address can receive mail (the verdict stored
with it), through the same email sender as codes (``mfa.delivery``); in demo mode its body is
kept in the outbox, so the Demo inbox shows it. A notice never contains a code.

Call it after the change has been committed::

    await notices.notify(services, account_id, NoticeKind.MFA_RESET, actor_id=admin.id)

:func:`notify` never raises for a delivery problem and never undoes or blocks the change: what
happened is audited instead (``notice.sent``, ``notice.failed``, ``notice.skipped`` with the kind
and the channel in ``detail``). It returns a :class:`NoticeReport` saying what was sent.

The kinds (:class:`NoticeKind`) and their keyword arguments:

- ``METHOD_ADDED``, ``METHOD_CHANGED``, ``METHOD_REMOVED``: ``method`` names it as people read it
  (``SMS (+1 ***-***-0199)``). The old destinations are told too: ``old_phone`` (an E.164
  number that was replaced or removed, or the verified number the user had when another method
  was added) gets a short text message as well;
- ``EMAIL_CHANGED``: an administrator changed the sign-in address; ``old_address`` receives the
  notice (the new, unproven address does not);
- ``MFA_RESET``: an administrator removed the user's methods;
- ``RECOVERY_CODE_USED``: ``remaining`` says how many codes are left;
- ``RECOVERY_CODES_REPLACED``: a new set was made; the old one stops working.

``actor_id`` (who made the change, when not the user) is recorded in the audit log.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mfa.delivery import DeliveryError, Message, mask_email
from mfa.phones import mask_phone
from mfa.services import Services
from store import accounts as account_store
from store import audit

__all__ = ["NoticeKind", "NoticeReport", "is_notice", "notice_text", "notify"]


class NoticeKind(enum.Enum):
    """What a security notice is about."""

    METHOD_ADDED = "method added"
    METHOD_CHANGED = "method changed"
    METHOD_REMOVED = "method removed"
    EMAIL_CHANGED = "email changed"
    MFA_RESET = "mfa reset"
    RECOVERY_CODE_USED = "recovery code used"
    RECOVERY_CODES_REPLACED = "recovery codes replaced"


@dataclass
class NoticeReport:
    """What :func:`notify` did: the channels it delivered to, and the ones it could not."""

    sent: list[str] = field(default_factory=list)
    """``email`` and/or ``sms``."""
    failed: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why no email was sent (the address can't receive mail), if so."""


WARNING = (
    "If this wasn't you or someone you asked, tell your administrator at once: someone may know "
    "your password."
)
NO_CODE = "This message contains no code. Never share a code you receive with anyone."


def notice_text(
    kind: NoticeKind,
    *,
    method: str = "",
    remaining: int | None = None,
) -> tuple[str, str]:
    """The subject and first paragraph of a notice of ``kind``."""
    what = method or "A verification method"
    match kind:
        case NoticeKind.METHOD_ADDED:
            subject = "A verification method was added to your account"
            line = f"{what} was added to your account: sign-in codes can now be sent there."
        case NoticeKind.METHOD_CHANGED:
            subject = "A verification method of your account was changed"
            line = f"Your {what} method was changed: sign-in codes now go to the new destination."
        case NoticeKind.METHOD_REMOVED:
            subject = "A verification method was removed from your account"
            line = f"{what} was removed from your account: sign-in codes won't be sent there."
        case NoticeKind.EMAIL_CHANGED:
            subject = "The email address of your account was changed"
            line = (
                "An administrator changed the email address you sign in with. This address "
                "will no longer receive sign-in codes."
            )
        case NoticeKind.MFA_RESET:
            subject = "Multi-factor authentication was reset for your account"
            line = (
                "An administrator removed your verification methods. You will set up "
                "multi-factor authentication again the next time you sign in."
            )
        case NoticeKind.RECOVERY_CODE_USED:
            subject = "A recovery code was used to sign in"
            left = "" if remaining is None else f" You have {remaining} recovery codes left."
            line = f"A recovery code was used to sign in to your account.{left}"
        case NoticeKind.RECOVERY_CODES_REPLACED:
            subject = "Your recovery codes were replaced"
            line = "A new set of recovery codes was made for your account; the old set no longer works."
    return subject, line


SMS_PREFIX = "Security notice:"


def is_notice(subject: str, body: str | None) -> bool:
    """True for a message :func:`notify` sent (by its subject, or a text message's first words)."""
    if subject:
        return subject in _SUBJECTS
    return (body or "").startswith(SMS_PREFIX)


def _sms_text(kind: NoticeKind) -> str:
    # Short: sent to a number that is being replaced or removed, or that was there before a new
    # method was added.
    if kind is NoticeKind.METHOD_ADDED:
        return (
            f"{SMS_PREFIX} a new way to receive your sign-in codes was added to your account. "
            "If this wasn't you, tell your administrator."
        )
    verb = "removed" if kind is NoticeKind.METHOD_REMOVED else "replaced"
    return (
        f"{SMS_PREFIX} this number was {verb} as a way to receive your sign-in codes. "
        "If this wasn't you, tell your administrator."
    )


_SUBJECTS = frozenset(notice_text(kind)[0] for kind in NoticeKind)


async def notify(
    services: Services,
    account_id: int,
    kind: NoticeKind,
    *,
    actor_id: int | None = None,
    method: str = "",
    old_address: str | None = None,
    old_phone: str | None = None,
    remaining: int | None = None,
) -> NoticeReport:
    """Send the notice of ``kind`` to the account's owner; see the module docstring."""
    report = NoticeReport()
    user = await account_store.user_by_id(services.db, account_id)
    if user is None:
        return report
    if kind is NoticeKind.EMAIL_CHANGED:
        # The old address is the one to tell; its verdict was stored when it was written, and the
        # caller knows whether it could receive mail.
        address: str | None = old_address
        problem = None if old_address else "the old address can't receive mail"
    else:
        address = user.email
        problem = None if user.email_deliverable else (user.email_problem or "can't receive mail")
    subject, line = notice_text(kind, method=method, remaining=remaining)
    if address is None or problem is not None:
        report.skipped = problem
        await _record(services, "notice.skipped", account_id, actor_id, f"{kind.value}: {problem}")
    else:
        body = f"Hello {user.display_name},\n\n{line}\n\n{WARNING}\n\n{NO_CODE}\n"
        message = Message(channel="email", recipient=address, subject=subject, body=body)
        await _deliver(services, message, kind, account_id, actor_id, mask_email(address), report)
    if old_phone:
        message = Message(channel="sms", recipient=old_phone, subject="", body=_sms_text(kind))
        await _deliver(services, message, kind, account_id, actor_id, mask_phone(old_phone), report)
    return report


async def _deliver(
    services: Services,
    message: Message,
    kind: NoticeKind,
    account_id: int,
    actor_id: int | None,
    masked: str,
    report: NoticeReport,
) -> None:
    # Imported here: the send pipeline imports the domain modules that call notices.
    from mfa.sending import deliverer_for

    error_text: str | None = None
    try:
        await deliverer_for(services).deliver(message)
    except DeliveryError as error:
        error_text = error.message
    except Exception as error:  # a notice must never undo or block the change
        error_text = f"{type(error).__name__}: {error}"
    now = services.now()
    async with services.db.write() as conn:
        body = message.body if services.demo and error_text is None else None
        await audit.log_delivery(
            conn, now, message.channel, message.recipient, message.subject, body, error_text
        )
        event = "notice.sent" if error_text is None else "notice.failed"
        detail = f"{kind.value}: {message.channel} {masked}"
        if error_text is not None:
            detail += f": {error_text}"
        await audit.record(
            conn, now, event, actor_id=actor_id, subject_id=account_id, detail=detail
        )
    (report.sent if error_text is None else report.failed).append(message.channel)


async def _record(
    services: Services, event: str, account_id: int, actor_id: int | None, detail: str
) -> None:
    async with services.db.write() as conn:
        await audit.record(
            conn, services.now(), event, actor_id=actor_id, subject_id=account_id, detail=detail
        )
