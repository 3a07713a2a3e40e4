"""Checking sign-in addresses where they are written, so later work can read the stored verdict.

An address that can't receive mail (``ops@plant7``) is still a valid sign-in name for an account
that exists in the business: it is kept, flagged, and reported later by the MFA process.
"""

from __future__ import annotations

from dataclasses import dataclass

from mfa.text import describe, refused_character, shown

MAX_LENGTH = 320
"""Longer text is refused outright (a deliverable address has at most 254 characters)."""


class AddressError(ValueError):
    """The text can't be used as a sign-in name at all."""


@dataclass(frozen=True, slots=True)
class AddressVerdict:
    email: str
    """The address as it will be stored (domain normalised to lower case)."""
    deliverable: bool
    problem: str | None
    """Why codes can't be sent there, in words a person understands; None when deliverable."""


def check_address(text: str) -> AddressVerdict:
    """Normalise ``text`` and decide whether codes can be emailed to it (no network lookups).

    Raises :class:`AddressError` for text that can't be a sign-in name at all: control or format
    characters (NUL included), text that can't be encoded, spaces, no ``@``, over-long text.
    """
    raw = text.strip()
    refused = refused_character(raw)
    if refused is not None:
        raise AddressError(
            f"'{shown(raw)}' is not an email address: it contains {describe(refused)}."
        )
    if len(raw) > MAX_LENGTH:
        raise AddressError(
            f"'{shown(raw)}' is not an email address: it is longer than {MAX_LENGTH} characters."
        )
    if (
        not raw
        or "@" not in raw
        or raw.startswith("@")
        or raw.endswith("@")
        or any(c.isspace() for c in raw)
    ):
        raise AddressError(f"'{shown(raw)}' is not an email address.")
    # Imported here: email-validator takes ~20 ms to import, and start-up doesn't need it.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as error:
        local, _, domain = raw.rpartition("@")
        return AddressVerdict(f"{local}@{domain.lower()}", False, _reason(str(error)))
    return AddressVerdict(result.normalized, True, None)


def lookup_form(text: str) -> str:
    """The address to look an account up by: as :func:`check_address` would have stored it, so
    that ``user@xn--bcher-kva.ch`` finds ``user@bücher.ch``; the trimmed text when it isn't one."""
    try:
        return check_address(text).email
    except AddressError:
        return text.strip()


def _reason(detail: str) -> str:
    """A short reason for tables and summaries, from email-validator's longer explanation."""
    if "should have a period" in detail:
        return "email address has no domain"
    first = detail.split(". ")[0].rstrip(".")
    if not first:
        return "email address is not valid"
    return f"email address is not valid ({first[0].lower()}{first[1:]})"
