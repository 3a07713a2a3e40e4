"""Accounts: adding users, importing CSV all-or-nothing, stored address verdicts, the demo seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa import accounts, demo
from mfa.services import Services
from store import accounts as account_store
from store.models import Subscription


@pytest.fixture
async def subscription(services: Services) -> Subscription:
    await accounts.create_subscription(services, "Acme", ["PitneyShip Pro"])
    return await accounts.require_subscription(services, "Acme")


async def test_add_user_stores_a_hash_and_the_address_verdict(
    services: Services, subscription: Subscription
) -> None:
    user, warning = await accounts.add_user(
        services, subscription, "Ann@Example.COM", "Ann", "user", "a long enough passphrase"
    )
    assert warning is None
    assert user.email == "Ann@example.com"
    assert user.email_deliverable and user.email_problem is None
    assert user.password_hash.startswith("$argon2id$")
    assert "a long enough passphrase" not in user.password_hash
    assert services.hasher.verify(user.password_hash, "a long enough passphrase")


async def test_an_address_without_a_domain_is_kept_and_flagged(
    services: Services, subscription: Subscription
) -> None:
    user, warning = await accounts.add_user(
        services, subscription, "ops@plant7", "Ops", "user", None
    )
    assert user.email == "ops@plant7"
    assert not user.email_deliverable
    assert user.email_problem and "no domain" in user.email_problem
    assert warning and "ops@plant7" in warning


async def test_the_same_address_in_another_case_is_refused(
    services: Services, subscription: Subscription
) -> None:
    await accounts.add_user(services, subscription, "ann@example.com", "Ann", "user", None)
    with pytest.raises(accounts.AccountError, match="exists already"):
        await accounts.add_user(services, subscription, "ANN@example.com", "Ann 2", "user", None)


async def test_a_weak_password_is_refused_with_the_reason(
    services: Services, subscription: Subscription
) -> None:
    with pytest.raises(accounts.AccountError, match="at least 8 characters"):
        await accounts.add_user(services, subscription, "b@example.com", "B", "user", "short")
    with pytest.raises(accounts.AccountError, match="most common"):
        await accounts.add_user(services, subscription, "b@example.com", "B", "user", "password123")
    assert await account_store.users_of(services.db) == []


GOOD_CSV = """email,name,role,password
alice@example.com,Alice,user,
bob@example.com,Bob,admin,a very different secret
ops@plant7,Plant Ops,user,
"""


async def test_import_takes_good_rows_and_warns_about_undeliverable_addresses(
    services: Services, subscription: Subscription, tmp_path: Path
) -> None:
    path = tmp_path / "users.csv"
    path.write_text(GOOD_CSV)
    report = await accounts.import_csv(services, subscription, path)
    assert report.errors == []
    assert report.imported == 3
    assert len(report.warnings) == 1 and report.warnings[0].startswith("line 4: ops@plant7")
    users = {u.email: u for u in await account_store.users_of(services.db)}
    assert set(users) == {"alice@example.com", "bob@example.com", "ops@plant7"}
    assert users["bob@example.com"].role == "admin"
    assert services.hasher.verify(users["bob@example.com"].password_hash, "a very different secret")
    assert not services.hasher.verify(users["alice@example.com"].password_hash, "")
    assert not users["ops@plant7"].email_deliverable


async def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    services: Services, subscription: Subscription
) -> None:
    text = (
        "email,name,role\n"
        "alice@example.com,Alice,user\n"
        ",No Address,user\n"
        "carol@example.com,,user\n"
        "ALICE@example.com,Alice Again,user\n"
        "dave@example.com,Dave,owner\n"
    )
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.imported == 0
    assert [e.split(":")[0] for e in report.errors] == ["line 3", "line 4", "line 5", "line 6"]
    assert "email is missing" in report.errors[0]
    assert "name is missing" in report.errors[1]
    assert "first on line 2" in report.errors[2]
    assert "unknown role 'owner'" in report.errors[3]
    assert await account_store.users_of(services.db) == []


async def test_an_address_taken_in_the_database_stops_the_whole_import(
    services: Services, subscription: Subscription
) -> None:
    await accounts.add_user(services, subscription, "bob@example.com", "Bob", "user", None)
    report = await accounts.import_csv_text(
        services,
        subscription,
        "email,name,role\nnew@example.com,New,user\nBOB@example.com,Bob,user\n",
    )
    assert report.imported == 0
    assert report.errors == ["line 3: an account with the address BOB@example.com exists already."]
    assert [u.email for u in await account_store.users_of(services.db)] == ["bob@example.com"]


async def test_a_header_without_required_columns_is_refused(
    services: Services, subscription: Subscription
) -> None:
    report = await accounts.import_csv_text(services, subscription, "mail,who\nx@example.com,X\n")
    assert report.errors == ["line 1: the header needs the column(s) email, name, role."]


async def test_set_email_rechecks_the_address(
    services: Services, subscription: Subscription
) -> None:
    user, _ = await accounts.add_user(services, subscription, "ops@plant7", "Ops", "user", None)
    fixed = await accounts.set_email(services, user.id, "ops@plant7.example.com")
    assert fixed.email_deliverable and fixed.email_problem is None


async def test_the_demo_seed_has_the_guide_products_and_three_undeliverable_users(
    services: Services,
) -> None:
    await demo.seed(services)
    await demo.seed(services)  # idempotent
    subscription = await accounts.require_subscription(services, None)
    assert await account_store.products_of(services.db, subscription.id) == demo.PRODUCTS
    users = await account_store.users_of(services.db, subscription.id)
    assert 20 <= len(users) <= 30
    assert sum(1 for u in users if u.role == "admin") == 1
    assert sorted(u.email for u in users if not u.email_deliverable) == [
        "dock@warehouse", "locker-bay@kiosk3", "ops@plant7",
    ]  # fmt: skip
    admin = next(u for u in users if u.role == "admin")
    assert services.hasher.verify(admin.password_hash, demo.ADMIN_PASSWORD)


def test_the_reason_for_an_address_without_a_domain_is_short_and_plain() -> None:
    from mfa.addresses import check_address

    assert check_address("ops@plant7").problem == "email address has no domain"
    assert check_address("a..b@example.com").problem == (
        "email address is not valid (an email address cannot have two periods in a row)"
    )


async def test_reasons_put_into_a_sentence_end_with_one_full_stop(
    services: Services, subscription: Subscription
) -> None:
    text = (
        "email,name,role,password\n"
        "no at sign,Nobody,user,a long enough passphrase\n"
        "sam@example.com,Sam,user,password\n"
    )
    report = await accounts.import_csv_text(services, subscription, text)
    assert report.errors[0] == "line 2: 'no at sign' is not an email address."
    for line in report.errors:
        assert ".." not in line and line.endswith("."), line
    assert report.errors[1] == (
        "line 3: password: That password is one of the most common passwords. Choose another."
    )


def test_clause_drops_one_closing_full_stop_and_keeps_an_ellipsis() -> None:
    from mfa.wording import clause

    assert clause("It is easy to guess.") == "It is easy to guess"
    assert clause("no full stop") == "no full stop"
    assert clause("and so on...") == "and so on..."
