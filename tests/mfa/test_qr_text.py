"""The QR code as half-block text: decoded back to the URI by a real decoder, and its size."""

from __future__ import annotations

import pytest
import segno

from mfa import qr_text, totp
from tests.qr_decode import decode, pixels_of_lines

ISSUER_ACCOUNTS = [
    ("Acme", "jo@acme.io"),
    ("Acme Logistics", "jordan.lee@example.com"),
    ("Northwind Lockers", "maria.gonzalez@northwind.example.com"),
    ("Kiosk & Co: Ünïcode", "someone+tag@example.org"),
]


def uri_for(issuer: str, account: str) -> str:
    return totp.provisioning_uri(totp.new_secret(), account=account, issuer=issuer)


@pytest.mark.parametrize(("issuer", "account"), ISSUER_ACCOUNTS)
@pytest.mark.parametrize("quiet_zone", [qr_text.DEFAULT_QUIET_ZONE, qr_text.STANDARD_QUIET_ZONE])
def test_what_is_drawn_decodes_to_the_uri(issuer: str, account: str, quiet_zone: int) -> None:
    uri = uri_for(issuer, account)
    lines = qr_text.qr_lines(uri, quiet_zone)
    assert decode(pixels_of_lines(lines)) == [uri]


def test_the_code_is_dark_on_light() -> None:
    # The same drawing with light and dark swapped is not read (inverted codes aren't tried), so
    # the decoding above also proves the polarity.
    uri = uri_for("Acme", "jo@acme.io")
    pixels = pixels_of_lines(qr_text.qr_lines(uri))
    assert decode([[not light for light in row] for row in pixels]) == []


def test_the_quiet_zone_is_light_and_the_lines_even() -> None:
    matrix = qr_text.qr_matrix("otpauth://totp/A:b?secret=ABCDEFGHIJKLMNOP")
    lines = qr_text.half_block_lines(matrix, 2)
    side = len(matrix) + 4
    assert all(len(line) == side for line in lines)
    assert len(lines) == (side + 1) // 2 == qr_text.drawn_size(len(matrix), 2)[1]
    assert lines[0] == "█" * side  # two light rows
    assert all(line[:2] == "██" and line[-2:] == "██" for line in lines)
    # The side is odd: the last line's lower half is one more light row.
    assert set(line[0] for line in lines[-1:]) == {"█"}


@pytest.mark.parametrize(
    ("issuer", "account", "modules"),
    [
        ("Acme Corp", "jane.doe@example.com", 37),  # 108 bytes: version 5
        ("Acme Logistics", "jordan.lee@example.com", 41),  # the demo's, 120 bytes: version 6
    ],
)
def test_a_typical_uri_fits_an_80x24_screen_with_the_key_beside_it(
    issuer: str, account: str, modules: int
) -> None:
    matrix = qr_text.qr_matrix(uri_for(issuer, account))
    assert len(matrix) == modules
    # The whole height of an 80x24 screen but one line, with 35 columns beside it for the key
    # (four groups of four, "ABCD EFGH IJKL MNOP", are 19 wide).
    quiet_zone = qr_text.quiet_zone_for(modules, 45, 23)
    assert quiet_zone is not None and quiet_zone >= 2
    if modules == 37:
        assert qr_text.drawn_size(modules, quiet_zone) == (45, 23)  # the standard's 4
    assert qr_text.quiet_zone_for(modules, 80, 17) is None


def test_the_quiet_zone_is_the_widest_that_fits() -> None:
    assert qr_text.drawn_size(37, 4) == (45, 23)
    assert qr_text.quiet_zone_for(37, 80, 23) == 4
    assert qr_text.quiet_zone_for(37, 80, 22) == 3
    assert qr_text.quiet_zone_for(37, 80, 21) == 2
    assert qr_text.quiet_zone_for(37, 80, 20) == 1
    assert qr_text.quiet_zone_for(37, 80, 19) is None
    assert qr_text.quiet_zone_for(37, 38, 24) is None


@pytest.mark.parametrize("quiet_zone", [1, 2, 3, 4])
def test_every_quiet_zone_drawn_decodes(quiet_zone: int) -> None:
    uri = uri_for("Acme Logistics", "jordan.lee@example.com")
    assert decode(pixels_of_lines(qr_text.qr_lines(uri, quiet_zone))) == [uri]


def test_the_secret_gets_its_own_alphanumeric_segment() -> None:
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    uri = f"otpauth://totp/Acme:jo%40acme.io?secret={secret}&issuer=Acme"
    parts = qr_text.segments(uri)
    assert "".join(parts) == uri
    assert secret in parts
    # Shorter uppercase runs (a %20, an issuer's capital) stay in the byte segments.
    assert qr_text.segments("abc%20Def") == ["abc%20Def"]
    # The cut saves a version for a typical URI, compared with one byte-mode segment.
    typical = uri_for("Acme Corp", "jane.doe@example.com")
    whole = segno.make(typical, error="L", micro=False)
    assert (whole.version, len(qr_text.qr_matrix(typical))) == (6, 37)
