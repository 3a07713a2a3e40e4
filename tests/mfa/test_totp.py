"""The authenticator app: codes against an independent RFC 6238 implementation, the window, replay
(also across processes), setup, the throttle, and the secret kept encrypted."""

from __future__ import annotations

import base64
import multiprocessing
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from mfa import totp
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import make_user
from tests.mfa.totp_helpers import key_of, race_worker, reference_code

RFC_SEED = b"12345678901234567890"
"""RFC 6238 appendix B's SHA-1 seed (ASCII "1234567890" twice)."""

RFC_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
"""(time, 8-digit TOTP) from RFC 6238 appendix B, SHA-1."""

ALL_KINDS = "email,sms,totp"


def rfc_secret() -> str:
    return base64.b32encode(RFC_SEED).decode("ascii")


# ------------------------------------------------------------------------------------ the codes


@pytest.mark.parametrize(("when", "expected"), RFC_SHA1_VECTORS)
def test_the_reference_implementation_gives_the_rfc_vectors(when: int, expected: str) -> None:
    assert reference_code(RFC_SEED, when, digits=8) == expected


@pytest.mark.parametrize(("when", "expected"), RFC_SHA1_VECTORS)
def test_codes_are_the_rfc_codes_in_six_digits(when: int, expected: str) -> None:
    # Six digits are the same dynamic truncation modulo 10**6: the RFC value's last six digits.
    step = totp.step_at(when)
    assert totp.code_at_step(rfc_secret(), step) == expected[-6:]
    assert totp.code_at_step(rfc_secret(), step) == reference_code(RFC_SEED, when)


@pytest.mark.parametrize("when", [0, 29.999, 30, 1_800_000_000, 1_800_000_029.5, 4_102_444_800])
def test_codes_of_a_fresh_secret_match_the_reference(when: float) -> None:
    secret = totp.new_secret()
    assert len(key_of(secret)) == 20  # 160 bits
    assert totp.code_at_step(secret, totp.step_at(when)) == reference_code(key_of(secret), when)


def test_the_key_for_typing_is_in_groups_of_four() -> None:
    assert totp.key_groups("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == (
        "ABCD EFGH IJKL MNOP QRST UVWX YZ23 4567"
    )


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture
async def user(services: Services) -> User:
    return await make_user(services, allowed=ALL_KINDS)


async def set_up_app(services: Services, user: User, clock: ManualClock) -> str:
    """Set up and confirm the authenticator app; returns its secret (as the phone holds it)."""
    started = await totp.start_totp_setup(services, user.id)
    assert started.ok, started.message
    assert started.key_groups is not None
    secret = started.key_groups.replace(" ", "")
    code = reference_code(key_of(secret), clock.now())
    confirmed = await totp.confirm_totp_setup(services, user.id, code)
    assert confirmed.ok, confirmed.message
    return secret


async def failed_attempts(services: Services, user: User) -> int:
    fresh = await account_store.user_by_id(services.db, user.id)
    assert fresh is not None
    return fresh.failed_attempts


# ---------------------------------------------------------------------------------------- setup


async def test_setup_gives_the_uri_with_issuer_account_and_secret(
    services: Services, user: User
) -> None:
    started = await totp.start_totp_setup(services, user.id)
    assert started.ok and started.status == "ready"
    assert started.uri is not None and started.key_groups is not None
    parts = urlsplit(started.uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == f"/Acme:{user.email}"
    query = parse_qs(parts.query)
    assert query["secret"] == [started.key_groups.replace(" ", "")]
    assert query["issuer"] == ["Acme"]
    # The apps' defaults are meant: SHA-1, 6 digits, 30 s.
    assert set(query) == {"secret", "issuer"}
    assert (started.issuer, started.account) == ("Acme", user.email)
    assert [len(group) for group in started.key_groups.split(" ")] == [4] * 8


async def test_setup_is_confirmed_with_the_apps_code_and_audited(
    services: Services, user: User, clock: ManualClock
) -> None:
    started = await totp.start_totp_setup(services, user.id)
    assert started.key_groups is not None
    key = key_of(started.key_groups.replace(" ", ""))

    # Not verified yet: it can't be used to sign in.
    refused = await totp.verify_totp_sign_in(services, user.id, reference_code(key, clock.now()))
    assert not refused.ok and refused.status == "no_code"

    wrong = await totp.confirm_totp_setup(services, user.id, "000000")
    if reference_code(key, clock.now()) != "000000":
        assert not wrong.ok and wrong.status == "wrong"
    confirmed = await totp.confirm_totp_setup(services, user.id, reference_code(key, clock.now()))
    assert confirmed.ok and confirmed.status == "verified"
    assert confirmed.method_id == started.method_id
    fresh = await account_store.user_by_id(services.db, user.id)
    assert fresh is not None and fresh.last_method_id == started.method_id
    assert fresh.failed_attempts == 0
    events = [e.event for e in await audit.events(services.db, user.id)]
    assert "mfa.method_verified" in events

    # The code that confirmed the setup can't also sign in.
    replay = await totp.verify_totp_sign_in(services, user.id, reference_code(key, clock.now()))
    assert not replay.ok and replay.status == "replayed"
    clock.advance(30)
    signed_in = await totp.verify_totp_sign_in(services, user.id, reference_code(key, clock.now()))
    assert signed_in.ok


async def test_setup_started_again_makes_a_new_secret(
    services: Services, user: User, clock: ManualClock
) -> None:
    first = await totp.start_totp_setup(services, user.id)
    second = await totp.start_totp_setup(services, user.id)
    assert first.key_groups != second.key_groups
    assert first.method_id == second.method_id
    assert first.key_groups is not None and second.key_groups is not None
    old_code = reference_code(key_of(first.key_groups.replace(" ", "")), clock.now())
    new_code = reference_code(key_of(second.key_groups.replace(" ", "")), clock.now())
    if old_code != new_code:
        assert not (await totp.confirm_totp_setup(services, user.id, old_code)).ok
    assert (await totp.confirm_totp_setup(services, user.id, new_code)).ok


async def test_a_new_app_replaces_the_old_only_once_confirmed(
    services: Services, user: User, clock: ManualClock
) -> None:
    old = key_of(await set_up_app(services, user, clock))
    clock.advance(30)
    started = await totp.start_totp_setup(services, user.id)
    assert started.ok and started.replacing
    assert started.key_groups is not None
    new = key_of(started.key_groups.replace(" ", ""))

    # Until the new one is confirmed, the old app still signs in.
    assert (await totp.verify_totp_sign_in(services, user.id, reference_code(old, clock.now()))).ok
    clock.advance(30)
    assert (await totp.confirm_totp_setup(services, user.id, reference_code(new, clock.now()))).ok
    clock.advance(30)
    old_code, new_code = reference_code(old, clock.now()), reference_code(new, clock.now())
    if old_code != new_code:
        assert not (await totp.verify_totp_sign_in(services, user.id, old_code)).ok
    assert (await totp.verify_totp_sign_in(services, user.id, new_code)).ok
    events = [e.event for e in await audit.events(services.db, user.id)]
    assert "mfa.totp_replaced" in events


async def test_setup_is_refused_when_the_subscription_does_not_allow_apps(
    services: Services,
) -> None:
    user = await make_user(services, allowed="email,sms")
    started = await totp.start_totp_setup(services, user.id)
    assert not started.ok and started.status == "not_allowed"
    assert started.uri is None


async def test_an_app_the_subscription_no_longer_allows_does_not_sign_in(
    services: Services, user: User, clock: ManualClock
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    async with services.db.write() as conn:
        await conn.execute(
            "UPDATE subscriptions SET allowed_methods = 'email,sms' WHERE id = ?",
            (user.subscription_id,),
        )
    clock.advance(30)
    result = await totp.verify_totp_sign_in(services, user.id, reference_code(key, clock.now()))
    assert not result.ok and "doesn't allow authenticator apps" in result.message


# -------------------------------------------------------------------------------- window, replay


@pytest.mark.parametrize("offset", [-1, 0, 1])
async def test_a_code_one_step_off_is_accepted(
    services: Services, user: User, clock: ManualClock, offset: int
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    clock.advance(300)
    code = reference_code(key, clock.now() + offset * 30)
    result = await totp.verify_totp_sign_in(services, user.id, code)
    assert result.ok and result.status == "verified"


@pytest.mark.parametrize("offset", [-2, 2])
async def test_a_code_two_steps_off_is_refused_and_counted(
    services: Services, user: User, clock: ManualClock, offset: int
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    clock.advance(300)
    code = reference_code(key, clock.now() + offset * 30)
    near = {reference_code(key, clock.now() + n * 30) for n in (-1, 0, 1)}
    if code in near:  # a one-in-a-million coincidence of codes
        pytest.skip("the code of that step equals one inside the window")
    result = await totp.verify_totp_sign_in(services, user.id, code)
    assert not result.ok and result.status == "wrong"
    assert await failed_attempts(services, user) == 1


async def test_a_step_is_never_accepted_twice(
    services: Services, user: User, clock: ManualClock
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    clock.advance(300)
    code = reference_code(key, clock.now())
    assert (await totp.verify_totp_sign_in(services, user.id, code)).ok
    again = await totp.verify_totp_sign_in(services, user.id, code)
    assert not again.ok and again.status == "replayed"
    # Still inside the window 29 s later: still refused.
    clock.advance(29)
    assert (await totp.verify_totp_sign_in(services, user.id, code)).status == "replayed"
    # A replay is refused without counting as a guess.
    assert await failed_attempts(services, user) == 0


async def test_an_earlier_step_is_refused_after_a_later_one(
    services: Services, user: User, clock: ManualClock
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    clock.advance(300)
    later = reference_code(key, clock.now() + 30)
    earlier = reference_code(key, clock.now())
    assert (await totp.verify_totp_sign_in(services, user.id, later)).ok
    if earlier != later:
        assert (await totp.verify_totp_sign_in(services, user.id, earlier)).status == "replayed"


async def test_typed_spaces_are_fine_and_non_codes_are_not_counted(
    services: Services, user: User, clock: ManualClock
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    clock.advance(300)
    malformed = await totp.verify_totp_sign_in(services, user.id, "12345")
    assert malformed.status == "malformed"
    assert await failed_attempts(services, user) == 0
    code = reference_code(key, clock.now())
    assert (await totp.verify_totp_sign_in(services, user.id, f"{code[:3]} {code[3:]}")).ok


# ---------------------------------------------------------------------------------- the throttle


async def test_wrong_codes_feed_the_account_throttle(
    services: Services, user: User, clock: ManualClock, config: Config
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    clock.advance(300)
    right = reference_code(key, clock.now())
    wrong = next(
        candidate
        for candidate in ("000000", "111111", "222222")
        if candidate not in {reference_code(key, clock.now() + n * 30) for n in (-1, 0, 1)}
    )
    free = config.security.lockout_free_failures
    for attempt in range(1, free + 1):
        result = await totp.verify_totp_sign_in(services, user.id, wrong)
        assert result.status == "wrong"
        assert await failed_attempts(services, user) == attempt
    # The failure that reached the free number made the account wait: even the right code waits.
    assert result.retry_at is not None and "try again in 30 seconds" in result.message
    locked = await totp.verify_totp_sign_in(services, user.id, right)
    assert not locked.ok and locked.status == "locked"
    clock.advance(config.security.lockout_base_seconds)
    assert (await totp.verify_totp_sign_in(services, user.id, right)).ok
    assert await failed_attempts(services, user) == 0
    events = [(e.event, e.detail) for e in await audit.events(services.db, user.id)]
    assert ("mfa.code_rejected", "sign-in totp: wrong") in events
    assert ("mfa.sign_in_verified", "totp") in events


# -------------------------------------------------------------------------------- at rest, demo


async def test_the_secret_is_encrypted_at_rest(
    services: Services, user: User, clock: ManualClock, db_path: Path
) -> None:
    secret = await set_up_app(services, user, clock)
    clock.advance(30)
    started = await totp.start_totp_setup(services, user.id)  # a pending secret too
    assert started.key_groups is not None
    pending = started.key_groups.replace(" ", "")
    files = [db_path, db_path.with_name(db_path.name + "-wal")]
    stored = b"".join(path.read_bytes() for path in files if path.exists())
    assert stored  # the test reads something
    for value in (secret, pending):
        assert value.encode() not in stored
        assert key_of(value) not in stored
    row = await services.db.fetchone(
        "SELECT secret, pending_secret FROM mfa_methods WHERE user_id = ? AND kind = 'totp'",
        (user.id,),
    )
    assert row is not None and row["secret"].startswith(b"gAAAAA")  # Fernet tokens
    assert row["pending_secret"].startswith(b"gAAAAA")


async def test_the_demo_aid_shows_the_current_code_only_in_demo_mode(
    services: Services, user: User, clock: ManualClock
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    assert await totp.demo_current_code(services, user.id) is None
    services.demo = True
    assert await totp.demo_current_code(services, user.id) == reference_code(key, clock.now())


# ------------------------------------------------------------------------------ two processes


async def test_two_processes_entering_the_same_code_exactly_one_wins(
    services: Services, user: User, clock: ManualClock, tmp_path: Path
) -> None:
    key = key_of(await set_up_app(services, user, clock))
    rounds = 6
    times = [clock.now() + 60 * (n + 1) for n in range(rounds)]
    codes = [reference_code(key, when) for when in times]
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(
            target=race_worker, args=(str(tmp_path), user.id, times, codes, barrier, results)
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    first, second = results.get(timeout=120), results.get(timeout=120)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    for n in range(rounds):
        assert sorted((first[n], second[n])) == ["replayed", "verified"], n
