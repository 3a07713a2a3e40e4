"""Mobile numbers: turning what a person typed into E.164, and showing a number without revealing it.

Codes can only be texted to a mobile number, so a number the ``phonenumbers`` metadata knows to be a
landline, toll-free, premium-rate, ... line is refused with a sentence that says why. In regions where
landlines and mobiles share one numbering plan (the United States, Canada, ...) the library answers
"fixed line or mobile", and such numbers are accepted.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, ValidationResult

_FALLBACK_EXAMPLE = "+1 415 555 0100"
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
# Digits and the punctuation people put between them. Letters (vanity numbers, "ext. 12") are refused
# rather than silently turned into digits.
_ALLOWED_CHARACTERS = re.compile(r"[0-9+\-\s().\/]+")


class InvalidPhoneNumber(ValueError):
    """The text can't be used as a mobile number; ``message`` says why, in words a person understands."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_mobile(text: str, default_region: str) -> str:
    """Return ``text`` as an E.164 mobile number (``+14155550100``).

    Args:
        text: What the person typed; spaces, dashes, dots and brackets are fine.
        default_region: ISO 3166 region (``"US"``, ``"GB"``) for numbers typed without ``+``.

    Raises:
        InvalidPhoneNumber: not a number, not a valid one, or not a mobile one.
    """
    region = default_region.strip().upper() or None
    example = _example_number(region)
    candidate = text.strip()
    if not candidate:
        raise InvalidPhoneNumber(
            f"Enter a mobile number. Include the country code, for example {example}."
        )
    invalid = f"That isn't a valid mobile number. Include the country code, for example {example}."
    if not _ALLOWED_CHARACTERS.fullmatch(candidate):
        raise InvalidPhoneNumber(invalid)
    try:
        number = phonenumbers.parse(candidate, region)
    except NumberParseException as error:
        if error.error_type == NumberParseException.TOO_SHORT_NSN:
            raise InvalidPhoneNumber(_too_short(example)) from None
        raise InvalidPhoneNumber(invalid) from None

    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        raise InvalidPhoneNumber(_too_short(example))
    if possible == ValidationResult.TOO_LONG:
        raise InvalidPhoneNumber(
            f"That number is too long to be a mobile number. Check it and include the country "
            f"code, for example {example}."
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(invalid)

    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        raise InvalidPhoneNumber(
            "That number looks like a landline; codes can only go to a mobile number."
        )
    if kind not in _MOBILE_TYPES:
        raise InvalidPhoneNumber(
            "That number can't receive text messages; codes can only go to a mobile number."
        )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """Show a number without revealing it: ``+14155551234`` becomes ``+1 ***-***-1234``.

    The country code and the last four digits stay visible; every other digit becomes ``*`` while the
    region's usual grouping is kept. Text that isn't a parseable number is masked the same way,
    without grouping.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        digits = re.sub(r"\D", "", e164)
        return _mask_digits(digits) if digits else "***"
    country = str(number.country_code)
    national = phonenumbers.national_significant_number(number)
    formatted = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{country}"
    grouped = formatted[len(prefix) :] if formatted.startswith(prefix) else f" {national}"
    return prefix + _mask_grouped(grouped, visible=4 if len(national) > 4 else 0)


def _mask_grouped(text: str, visible: int) -> str:
    """Replace every digit of ``text`` but the last ``visible`` ones with ``*``, keeping the rest."""
    total = sum(c.isdigit() for c in text)
    seen = 0
    out = []
    for char in text:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total - visible else "*")
        else:
            out.append(char)
    return "".join(out)


def _mask_digits(digits: str) -> str:
    visible = 4 if len(digits) > 4 else 0
    return "*" * (len(digits) - visible) + digits[len(digits) - visible :]


def _too_short(example: str) -> str:
    return (
        f"That number is too short to be a mobile number. Include the country code, "
        f"for example {example}."
    )


def _example_number(region: str | None) -> str:
    """A mobile number of ``region`` as people write it, for messages; a US one when unknown."""
    if region is None:
        return _FALLBACK_EXAMPLE
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    if example is None:
        return _FALLBACK_EXAMPLE
    return phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
