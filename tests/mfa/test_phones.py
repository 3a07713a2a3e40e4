"""Mobile numbers: normalising what people type to E.164, refusing what can't take a text, masking."""

from __future__ import annotations

import pytest

from mfa.phones import InvalidPhoneNumber, mask_phone, normalise_mobile


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("+1 415 555 0100", "US", "+14155550100"),
        ("(415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "us", "+14155550100"),
        ("  +1-415-555-0100  ", "GB", "+14155550100"),
        ("+44 7911 123456", "US", "+447911123456"),
        ("07911 123456", "GB", "+447911123456"),
        ("07911-123-456", "GB", "+447911123456"),
    ],
)
def test_valid_mobiles_normalise_to_e164(text: str, region: str, e164: str) -> None:
    assert normalise_mobile(text, region) == e164


@pytest.mark.parametrize(
    "text", ["hello", "1-800-FLOWERS", "+999 1234 5678", "+1 415 555 0100 x12"]
)
def test_garbage_is_refused_with_a_readable_message(text: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_mobile(text, "US")

    assert str(caught.value).startswith(
        "That isn't a valid mobile number. Include the country code"
    )
    assert caught.value.message == str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("text", ["415-555", "12"])
def test_too_short_is_refused(text: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="too short to be a mobile number"):
        normalise_mobile(text, "US")


def test_national_number_without_a_region_asks_for_the_country_code() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_mobile("415 555 0100", "")

    assert str(caught.value) == (
        "That isn't a valid mobile number. Include the country code, for example +1 415 555 0100."
    )


def test_empty_input() -> None:
    with pytest.raises(InvalidPhoneNumber, match="Enter a mobile number"):
        normalise_mobile("   ", "US")


def test_example_follows_the_region() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_mobile("nonsense", "GB")

    assert "for example +44 " in str(caught.value)


def test_landline_is_refused() -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_mobile("+44 20 7946 0018", "GB")

    assert str(caught.value) == (
        "That number looks like a landline; codes can only go to a mobile number."
    )


def test_toll_free_is_refused() -> None:
    with pytest.raises(InvalidPhoneNumber, match="can't receive text messages"):
        normalise_mobile("+1 800 555 0100", "US")


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+14155551234", "+1 ***-***-1234"),
        ("+447911123456", "+44 **** **3456"),
        ("+33612345678", "+33 * ** ** 56 78"),
        ("+1234", "+1 ***"),
        ("garbage", "***"),
    ],
)
def test_mask_phone_keeps_country_code_and_last_four(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked
