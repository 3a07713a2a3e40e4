"""Checking sign-in addresses where they are written, so later work can read the stored verdict.

An address that can't receive mail (``ops@plant7``) is still a valid sign-in name for an account
that exists in the business: it is kept, flagged, and reported later by the MFA process.

Special-use domains (``.local``, ``.test``, ``.localhost``, ``.arpa``, ``.invalid``, ...) can't receive
mail on the Internet, but a company mail server often delivers them (``corp.local`` behind an Active
Directory): ``[email] internal_domains`` lists those, and an address on one of them (or under one)
is judged by everything else email-validator checks. The verdicts stored depend on that setting, so
:func:`domains_fingerprint` names it for the re-check when it changes (``mfa.address_recheck``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mfa.text import describe, refused_character, shown

MAX_LENGTH = 320
"""Longer text is refused outright (a deliverable address has at most 254 characters)."""

_STAND_IN = "internal-domain.example.com"
"""Takes an internal domain's place while the rest of the address is validated (never contacted)."""


class AddressError(ValueError):
    """The text can't be used as a sign-in name at all."""


@dataclass(frozen=True, slots=True)
class AddressVerdict:
    email: str
    """The address as it will be stored (domain normalised to lower case)."""
    deliverable: bool
    problem: str | None
    """Why codes can't be sent there, in words a person understands; None when deliverable."""


def internal_suffix(domain: str, internal_domains: Iterable[str]) -> str | None:
    """The entry of ``internal_domains`` that ``domain`` is, or is under (None: none)."""
    name = domain.lower().rstrip(".")
    for internal in internal_domains:
        if name == internal or name.endswith("." + internal):
            return internal
    return None


def domains_fingerprint(internal_domains: Iterable[str]) -> str:
    """The setting the stored verdicts were judged with, in a form that compares as text."""
    return ",".join(sorted(set(internal_domains)))


def check_address(text: str, internal_domains: Iterable[str] = ()) -> AddressVerdict:
    """Normalise ``text`` and decide whether codes can be emailed to it (no network lookups).

    ``internal_domains``: the normalised ``[email] internal_domains`` (lower case, no dots at
    the ends), whose addresses are deliverable here although they are special-use names.

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

    local, _, domain = raw.rpartition("@")
    internal = internal_suffix(domain, internal_domains)
    checked = raw
    if internal is not None:
        # The same checks with the internal name swapped for an ordinary one: the local part and
        # any labels in front of the internal name are still judged.
        prefix = domain[: len(domain) - len(internal)]
        checked = f"{local}@{prefix}{_STAND_IN}"
    try:
        result = validate_email(checked, check_deliverability=False)
    except EmailNotValidError as error:
        return AddressVerdict(f"{local}@{domain.lower()}", False, _reason(str(error), domain))
    if internal is not None:
        return AddressVerdict(f"{result.local_part}@{domain.lower()}", True, None)
    return AddressVerdict(result.normalized, True, None)


def lookup_form(text: str, internal_domains: Iterable[str] = ()) -> str:
    """The address to look an account up by: as :func:`check_address` would have stored it, so
    that ``user@xn--bcher-kva.ch`` finds ``user@bücher.ch``; the trimmed text when it isn't one."""
    try:
        return check_address(text, internal_domains).email
    except AddressError:
        return text.strip()


def _reason(detail: str, domain: str) -> str:
    """A short reason for tables and summaries, from email-validator's longer explanation."""
    if "should have a period" in detail:
        return "email address has no domain"
    if "special-use or reserved name" in detail:
        return (
            f"{domain.lower()} is a special-use domain, not deliverable on the Internet; if your "
            "mail server delivers it, an administrator can list it in email.internal_domains"
        )
    first = detail.split(". ")[0].rstrip(".")
    if not first:
        return "email address is not valid"
    return f"email address is not valid ({first[0].lower()}{first[1:]})"
