"""The consecutive-failure throttle: 5 free, then 30 s doubling to 1 h, locked at 100."""

from __future__ import annotations

import math

import pytest

from mfa import throttle
from mfa.clock import ManualClock
from mfa.config import SecurityConfig
from mfa.services import Services
from store import accounts as account_store
from store.models import User

DEFAULTS = SecurityConfig()


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (0, None),
        (4, None),
        (5, 30.0),
        (6, 60.0),
        (7, 120.0),
        (11, 1920.0),
        (12, 3600.0),
        (99, 3600.0),
        (100, math.inf),
        (150, math.inf),
    ],
)
def test_the_wait_after_consecutive_failures(failures: int, wait: float | None) -> None:
    assert throttle.wait_after(failures, DEFAULTS) == wait


def test_the_schedule_follows_the_configuration() -> None:
    security = SecurityConfig(
        lockout_free_failures=2, lockout_base_seconds=10, lockout_max_seconds=25,
        lockout_hard_limit=6,
    )  # fmt: skip
    waits = [throttle.wait_after(n, security) for n in range(1, 7)]
    assert waits == [None, 10.0, 20.0, 25.0, 25.0, math.inf]


@pytest.fixture
async def user(services: Services) -> User:
    async with services.db.write() as conn:
        subscription_id = await account_store.create_subscription(conn, "S", [], 0)
        user_id = await account_store.insert_user(
            conn,
            subscription_id,
            account_store.NewUser("a@example.com", "A", "user", "x", True, None),
            0,
        )
    found = await account_store.user_by_id(services.db, user_id)
    assert found is not None
    return found


async def _fail(services: Services, user: User) -> float | None:
    async with services.db.write() as conn:
        return await throttle.record_failure(conn, user.id, services.now(), DEFAULTS)


async def _check(services: Services, user: User) -> float | None:
    async with services.db.write() as conn:
        return await throttle.check(conn, user, services.now(), DEFAULTS)


async def test_five_failures_start_a_thirty_second_wait_that_ends(
    services: Services, clock: ManualClock, user: User
) -> None:
    for _ in range(4):
        assert await _fail(services, user) is None
        assert await _check(services, user) is None
    assert await _fail(services, user) == 30.0
    assert await _check(services, user) == 30.0
    clock.advance(29)
    assert await _check(services, user) == pytest.approx(1.0)
    clock.advance(1)
    assert await _check(services, user) is None
    # The next failure doubles the wait: the count did not start over by waiting.
    assert await _fail(services, user) == 60.0
    stored = await account_store.user_by_id(services.db, user.id)
    assert stored is not None
    assert stored.failed_attempts == 6
    assert stored.locked_until == clock.now() + 60


async def test_a_success_clears_the_count_and_the_wait(
    services: Services, clock: ManualClock, user: User
) -> None:
    for _ in range(5):
        await _fail(services, user)
    async with services.db.write() as conn:
        await throttle.record_success(conn, user.id)
    assert await _check(services, user) is None
    stored = await account_store.user_by_id(services.db, user.id)
    assert stored is not None
    assert (stored.failed_attempts, stored.locked_until) == (0, None)
    assert await _fail(services, user) is None  # five free failures again


async def test_the_hundredth_failure_locks_until_an_admin_clears_it(
    services: Services, clock: ManualClock, user: User
) -> None:
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET failed_attempts = 99 WHERE id = ?", (user.id,))
    assert await _fail(services, user) == math.inf
    clock.advance(365 * 24 * 3600)
    assert await _check(services, user) == math.inf
    async with services.db.write() as conn:
        await throttle.clear(conn, user.id)
    assert await _check(services, user) is None
