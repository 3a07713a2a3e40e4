"""Arbitrary input into addresses, names, CSV imports, passwords, phone numbers and codes is judged,
never crashes: only the project's own errors escape, every message is one printable line, the file
passes ``integrity_check``, and a refused operation leaves every row as it was.

Each test keeps one database and one event loop for all its examples (a fresh file per example
would multiply the time by ten); a refusal is checked against a dump taken just before it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfa import accounts, factors, sending
from mfa.accounts import AccountError
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.phones import InvalidPhoneNumber, normalise_mobile
from mfa.services import Services, open_services
from mfa.signin import SignInResult, sign_in
from mfa.text import refused_character
from tests.conftest import FAST_SECURITY

BOUNDED = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PASSWORD = "a long enough passphrase"
T = TypeVar("T")

# Text that reaches the edges: every category of character, the ones that broke things in front.
tricky = st.sampled_from(
    ["\x00", "\r", "\n", "\x1b", "\u202e", "\u200d", "\udce4", "\ud800", "K", "Ä", "\u0308", "ß",
     "İ", "@", ".", '"', ",", " ", "\u2028", "\ue000", "\U000e0001", "\ufeff"]
)  # fmt: skip
chars = st.one_of(st.characters(), tricky)
# Built from lists: st.text() drops the lone surrogates (what undecodable bytes in argv become).
any_text = st.lists(chars, max_size=40).map("".join)
addressish = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.lists(chars, max_size=12).map("".join),
    st.sampled_from(["example.com", "EXAMPLE.com", "plant7", "bücher.ch", "xn--bcher-kva.ch", ""]),
)


class World:
    """One database with a subscription and an account, driven from a synchronous test."""

    def __init__(self, runner: asyncio.Runner, services: Services) -> None:
        self.runner = runner
        self.services = services
        self.subscription = runner.run(_subscription(services))
        self.user, _ = runner.run(
            accounts.add_user(services, self.subscription, "kä@example.com", "Kä", "user", PASSWORD)
        )
        self.account = accounts.Account.of(self.user)

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        return self.runner.run(_awaited(make))

    def dump(self) -> list[str]:
        with sqlite3.connect(self.services.db.path) as conn:
            return list(conn.iterdump())

    def assert_intact(self) -> None:
        with sqlite3.connect(self.services.db.path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

    def refused_writes_nothing(
        self, make: Callable[[], Awaitable[Any]], *, recorded: tuple[str, ...] = ()
    ) -> Any:
        """Run the operation; when it refuses (AccountError) nothing may have changed, except for
        the refusals starting with one of ``recorded`` (counted and audited by design)."""
        before = self.dump()
        try:
            return self.run(make)
        except AccountError as error:
            message = str(error)
            assert_one_safe_line(message)
            if not message.startswith(recorded):
                assert self.dump() == before, message
            return None
        finally:
            self.assert_intact()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


async def _subscription(services: Services) -> Any:
    await accounts.create_subscription(services, "Acme", [])
    return await accounts.require_subscription(services, "Acme")


def assert_one_safe_line(message: str) -> None:
    """One line, nothing a terminal acts on, encodable anywhere UTF-8 is."""
    assert message, "an empty message"
    assert message.isprintable(), repr(message)
    message.encode("utf-8")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    config = Config(security=FAST_SECURITY).with_database(tmp_path / "mfa.db")
    config = config.replace("security", key_file=str(tmp_path / "mfa.key"))
    with asyncio.Runner() as runner:
        services = runner.run(open_services(config, clock=ManualClock()))
        try:
            yield World(runner, services)
        finally:
            runner.run(services.close())


@BOUNDED
@given(email=st.one_of(addressish, any_text), name=any_text)
def test_any_new_account_is_judged(world: World, email: str, name: str) -> None:
    added = world.refused_writes_nothing(
        lambda: accounts.add_user(world.services, world.subscription, email, name, "user", None)
    )
    if added is not None:
        user, warning = added
        assert refused_character(user.email) is None
        assert refused_character(user.display_name, allow_joiners=True) is None
        if warning is not None:
            assert_one_safe_line(warning)


@BOUNDED
@given(email=st.one_of(addressish, any_text))
def test_any_address_change_and_lookup_is_judged(world: World, email: str) -> None:
    world.refused_writes_nothing(lambda: accounts.set_email(world.services, world.user.id, email))
    world.refused_writes_nothing(lambda: accounts.require_account(world.services, email))
    world.refused_writes_nothing(lambda: accounts.set_email(world.services, 10_000, email))


csv_text = st.lists(
    st.lists(st.one_of(addressish, any_text, st.sampled_from(["user", "admin", ""])), max_size=5),
    max_size=5,
).map(lambda rows: "email,name,role,password\n" + "\n".join(",".join(row) for row in rows))


@BOUNDED
@given(text=st.one_of(csv_text, any_text.map(lambda t: "email,name,role\n" + t)))
def test_any_csv_import_is_judged_all_or_nothing(world: World, text: str) -> None:
    before = world.dump()
    report = world.run(lambda: accounts.import_csv_text(world.services, world.subscription, text))
    world.assert_intact()
    for line in [*report.errors, *report.warnings]:
        assert_one_safe_line(line)
        assert line.startswith("line ")
    if report.errors:
        assert report.imported == 0 and report.warnings == []
        assert world.dump() == before


@BOUNDED
@given(password=any_text, current=st.one_of(st.just(PASSWORD), any_text))
def test_any_password_is_judged(world: World, password: str, current: str) -> None:
    world.refused_writes_nothing(lambda: accounts.set_password(world.services, 10_000, password))
    # A wrong current password counts towards the lock and is audited, as at sign-in.
    world.refused_writes_nothing(
        lambda: accounts.change_password(world.services, world.user.id, current, password),
        recorded=(accounts.CURRENT_PASSWORD_WRONG, "Too many", "This account is locked"),
    )
    result = world.run(lambda: sign_in(world.services, "kä@example.com", password))
    assert isinstance(result, SignInResult) and (result.accepted or result.message)
    assert_one_safe_line(result.message or "signed in")
    world.assert_intact()


@BOUNDED
@given(email=st.one_of(addressish, any_text), password=any_text)
def test_any_sign_in_is_judged(world: World, email: str, password: str) -> None:
    result = world.run(lambda: sign_in(world.services, email, password))
    assert not result.accepted
    assert_one_safe_line(result.message)
    world.assert_intact()


@BOUNDED
@given(
    number=st.one_of(any_text, st.text("+0123456789 -().", max_size=20)),
    region=st.sampled_from(["US", "GB", "DE", "", "ZZ"]),
)
def test_any_phone_number_is_judged(world: World, number: str, region: str) -> None:
    try:
        normalise_mobile(number, region)
    except InvalidPhoneNumber as error:
        assert_one_safe_line(error.message)
    before = world.dump()
    result = world.run(lambda: sending.start_sms_setup(world.services, world.account, number))
    assert_one_safe_line(result.message)
    if not result.ok:
        assert world.dump() == before
    world.assert_intact()


@BOUNDED
@given(code=st.one_of(any_text, st.text("0123456789 -", max_size=9)))
def test_any_code_is_judged(world: World, code: str) -> None:
    for check in (
        lambda: factors.verify_sign_in(world.services, world.account, code),
        lambda: factors.confirm_setup(world.services, world.account, "email", code),
    ):
        result = world.run(check)
        assert_one_safe_line(result.message or "verified")
    world.assert_intact()
