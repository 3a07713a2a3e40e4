"""Input that broke the account functions once: one canonical form for addresses, control and
unreadable characters refused, CSV the reader chokes on, refusals that write nothing."""

from __future__ import annotations

import sqlite3
import unicodedata
from pathlib import Path

import pytest

from mfa import accounts
from mfa.services import Services
from mfa.signin import INCORRECT, UNREADABLE_INPUT, SignInOutcome, sign_in
from store import accounts as account_store
from store.models import Subscription

PASSWORD = "a long enough passphrase"
NFD_KA = unicodedata.normalize("NFD", "kä@example.com")


@pytest.fixture
async def subscription(services: Services) -> Subscription:
    await accounts.create_subscription(services, "Acme", [])
    return await accounts.require_subscription(services, "Acme")


def dump(services: Services) -> list[str]:
    """Every row of the file, read with a connection of its own."""
    with sqlite3.connect(services.db.path) as conn:
        return list(conn.iterdump())


# Canonical addresses


@pytest.mark.parametrize("other", ["KÄ@example.com", NFD_KA, "KA\u0308@EXAMPLE.COM"])
async def test_importing_an_address_that_exists_in_another_case_or_form_says_so(
    services: Services, subscription: Subscription, other: str
) -> None:
    await accounts.add_user(services, subscription, "kä@example.com", "Kä", "user", None)
    report = await accounts.import_csv_text(
        services, subscription, f"email,name,role\n{other},K,user\n"
    )
    assert report.imported == 0
    assert len(report.errors) == 1 and report.errors[0].startswith(
        "line 2: an account with the address"
    )
    assert report.errors[0].endswith("exists already.")


@pytest.mark.parametrize("other", ["KÄ@example.com", NFD_KA])
async def test_adding_or_moving_to_an_address_that_exists_in_another_form_is_refused(
    services: Services, subscription: Subscription, other: str
) -> None:
    await accounts.add_user(services, subscription, "kä@example.com", "Kä", "user", None)
    bob, _ = await accounts.add_user(services, subscription, "bob@example.com", "Bob", "user", None)
    before = dump(services)
    with pytest.raises(accounts.AccountError, match="exists already"):
        await accounts.add_user(services, subscription, other, "K", "user", None)
    with pytest.raises(accounts.AccountError, match="exists already"):
        await accounts.set_email(services, bob.id, other)
    assert dump(services) == before


async def test_the_same_address_twice_in_one_file_in_two_forms_is_named(
    services: Services, subscription: Subscription
) -> None:
    text = f"email,name,role\nkä@example.com,A,user\n{NFD_KA.upper()},B,user\n"
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.imported == 0
    assert len(report.errors) == 1 and "first on line 2" in report.errors[0]


async def test_an_account_is_found_by_any_case_or_form_of_its_address(
    services: Services, subscription: Subscription
) -> None:
    user, _ = await accounts.add_user(
        services, subscription, "kä@example.com", "Kä", "user", PASSWORD
    )
    for typed in ("KÄ@example.com", NFD_KA, " kä@EXAMPLE.com "):
        assert (await accounts.require_account(services, typed)).id == user.id
        result = await sign_in(services, typed, PASSWORD)
        assert (
            result.outcome is SignInOutcome.SIGNED_IN and result.user and result.user.id == user.id
        )


async def test_text_after_a_nul_is_not_ignored_when_looking_an_account_up(
    services: Services, subscription: Subscription
) -> None:
    # Written past the domain's checks (as an older version could): the lookup still compares all.
    async with services.db.write() as conn:
        await account_store.insert_user(
            conn, subscription.id,
            account_store.NewUser("ann@example.com\x00one", "Ann", "user", "!", True, None), 0.0,
        )  # fmt: skip
    assert await account_store.user_by_email(services.db, "ann@example.com\x00two") is None
    assert await account_store.user_by_email(services.db, "ann@example.com") is None
    with pytest.raises(accounts.AccountError, match="no account"):
        await accounts.require_account(services, "ann@example.com\x00two")
    result = await sign_in(services, "ann@example.com\x00two", PASSWORD)
    assert result.outcome is SignInOutcome.REJECTED and result.message == INCORRECT


# Control and format characters in new names and addresses


BAD_TEXT = ["\x00", "\x1b]0;owned\x07", "\x1b[2J", "\n", "\t", "\u202e", "\u2028", "\x7f"]


@pytest.mark.parametrize("bad", BAD_TEXT)
async def test_names_and_addresses_with_control_characters_are_refused_everywhere(
    services: Services, subscription: Subscription, bad: str
) -> None:
    bob, _ = await accounts.add_user(services, subscription, "bob@example.com", "Bob", "user", None)
    before = dump(services)
    for email, name in ((f"a{bad}b@example.com", "Ann"), ("ann@example.com", f"Ann{bad}Smith")):
        with pytest.raises(accounts.AccountError) as caught:
            await accounts.add_user(services, subscription, email, name, "user", None)
        message = str(caught.value)
        assert message.isprintable(), repr(message)
        assert "U+" in message
    with pytest.raises(accounts.AccountError, match="U\\+"):
        await accounts.set_email(services, bob.id, f"bob{bad}x@example.com")
    with pytest.raises(accounts.AccountError, match="U\\+"):
        await accounts.create_subscription(services, f"Evil{bad}Corp", [])
    assert dump(services) == before


async def test_an_import_names_the_line_of_a_control_character(
    services: Services, subscription: Subscription
) -> None:
    text = (
        "email,name,role\n"
        "ok@example.com,Ok,user\n"
        '"nul\x00@example.com",Nul,user\n'
        'title@example.com,"\x1b]0;owned\x07",user\n'
    )
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.imported == 0
    assert [error.split(":")[0] for error in report.errors] == ["line 3", "line 4"]
    assert "U+0000" in report.errors[0] and "U+001B" in report.errors[1]
    assert all(error.isprintable() for error in report.errors)
    assert await account_store.users_of(services.db) == []


async def test_joiners_in_a_name_are_kept(services: Services, subscription: Subscription) -> None:
    user, _ = await accounts.add_user(
        services, subscription, "mehr@example.com", "مهر\u200cنوش", "user", None
    )
    assert user.display_name == "مهر\u200cنوش"


# CSV the reader chokes on


async def test_a_bare_carriage_return_ends_a_line_instead_of_crashing(
    services: Services, subscription: Subscription
) -> None:
    text = "email,name,role\rann@example.com,Ann,user\rbob@example.com,Bob,user\r"
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.errors == [] and report.imported == 2
    report = await accounts.import_csv_text(
        services, subscription, "email,name,role\ncy@example.com,C\ry,user\n"
    )
    assert report.imported == 0 and report.errors and report.errors[0].startswith("line ")


async def test_a_field_over_the_csv_limit_names_its_line(
    services: Services, subscription: Subscription, tmp_path: Path
) -> None:
    text = "email,name,role\nok@example.com,Ok,user\nbig@example.com," + "x" * 140_000 + ",user\n"
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.imported == 0
    assert report.errors == ["line 3: a field is longer than 131,072 characters."]
    path = tmp_path / "big.csv"
    path.write_text(text)
    report = await accounts.import_csv(services, subscription, path)
    assert report.errors == ["line 3: a field is longer than 131,072 characters."]
    assert await account_store.users_of(services.db) == []


async def test_text_after_a_closing_quote_is_an_error_not_part_of_the_address(
    services: Services, subscription: Subscription
) -> None:
    text = 'email,name,role\nok@example.com,Ok,user\n"a2@acme.com"x,A2,user\n'
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.imported == 0
    assert len(report.errors) == 1 and report.errors[0].startswith("line 3: a quoted field")
    assert await account_store.users_of(services.db) == []


async def test_an_unclosed_quote_names_the_line_it_opens_on(
    services: Services, subscription: Subscription
) -> None:
    report = await accounts.import_csv_text(
        services,
        subscription,
        'email,name,role\nok@example.com,Ok,user\n"open@example.com,A,user\n',
    )
    assert report.errors == ["line 3: a quoted field is never closed (a quote is missing)."]


async def test_a_file_that_is_not_utf8_names_the_line(
    services: Services, subscription: Subscription, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"email,name,role\nok@example.com,Ok,user\nk\xe4@example.com,K,user\n")
    with pytest.raises(accounts.AccountError, match="line 3 isn't UTF-8"):
        await accounts.import_csv(services, subscription, path)


# Text that can't be encoded (lone surrogates: undecodable bytes in argv, environment, stdin)


UNREADABLE = "k\udce4@example.com"


async def test_unreadable_text_is_refused_with_a_clear_message_and_writes_nothing(
    services: Services, subscription: Subscription
) -> None:
    user, _ = await accounts.add_user(
        services, subscription, "ann@example.com", "Ann", "user", PASSWORD
    )
    before = dump(services)
    result = await sign_in(services, UNREADABLE, PASSWORD)
    assert result.outcome is SignInOutcome.REJECTED and result.message == UNREADABLE_INPUT
    result = await sign_in(services, "ann@example.com", "secret\udcff")
    assert result.outcome is SignInOutcome.REJECTED and result.message == UNREADABLE_INPUT
    attempts = [
        accounts.add_user(services, subscription, UNREADABLE, "K", "user", None),
        accounts.add_user(services, subscription, "k@example.com", "K\udce4", "user", None),
        accounts.add_user(
            services, subscription, "k@example.com", "K", "user", "pass\udce4word long"
        ),
        accounts.set_email(services, user.id, UNREADABLE),
        accounts.set_password(services, user.id, "pass\udce4word long"),
        accounts.change_password(services, user.id, "cur\udce4rent", "a new long passphrase"),
        accounts.change_password(services, user.id, PASSWORD, "new\udce4 long passphrase"),
        accounts.require_account(services, UNREADABLE),
        accounts.require_subscription(services, "Ac\udce4me"),
        accounts.create_subscription(services, "Ac\udce4me", []),
    ]
    for attempt in attempts:
        with pytest.raises(accounts.AccountError) as caught:
            await attempt
        message = str(caught.value)
        message.encode("utf-8")  # printable anywhere: the surrogate is shown escaped
        assert "can't be read" in message, message
    report = await accounts.import_csv_text(
        services,
        subscription,
        f"email,name,role,password\n{UNREADABLE},K,user,\nx@example.com,X\udc80,user,\n",
    )
    assert report.imported == 0 and [e.split(":")[0] for e in report.errors] == ["line 2", "line 3"]
    "".join(report.errors).encode("utf-8")
    assert dump(services) == before


# A refused change writes nothing


async def test_changing_the_address_of_an_account_that_does_not_exist_writes_nothing(
    services: Services, subscription: Subscription
) -> None:
    before = dump(services)
    with pytest.raises(accounts.AccountError, match="no longer exists"):
        await accounts.set_email(services, 999, "new@example.com")
    assert dump(services) == before
