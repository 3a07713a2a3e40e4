"""The per-account throttle on consecutive failures, shared by passwords and one-time codes.

Every wrong password and every wrong code counts against the account; the count lives in
``users.failed_attempts`` and the earliest time of the next attempt in ``users.locked_until``, so
every process on the host (several SSH sessions, admin commands) sees and feeds the same count.

The rule, with the defaults of ``SecurityConfig`` (after NIST SP 800-63B 5.2.2):

- the first ``lockout_free_failures`` (5) failures in a row cost nothing;
- the failure that reaches that number makes the account wait ``lockout_base_seconds`` (30 s), and
  each further failure doubles the wait, up to ``lockout_max_seconds`` (1 h);
- at ``lockout_hard_limit`` (100) failures in a row the account is locked until an administrator
  clears the count (:func:`clear`); :func:`check` then answers ``math.inf``;
- a success clears the count (:func:`record_success`).

An attempt made while the account waits is refused without being judged, and is not counted.

The count and the wait are stored by ``store.throttle``; the rule is here. Every coroutine takes the
connection of the caller's ``Database.write()`` transaction (``BEGIN IMMEDIATE``), so "read the
count, judge, record" is one step across processes. Use it like this (the code check in ``mfa.codes`` and the sign-in in ``mfa.signin`` do)::

    async with services.db.write() as conn:
        wait = await throttle.check(conn, user, now, security)
        if wait is not None:
            ...  # refuse without judging; wait seconds (math.inf: until an admin unlocks)
        elif right:
            await throttle.record_success(conn, user.id)
        else:
            wait = await throttle.record_failure(conn, user.id, now, security)
"""

from __future__ import annotations

import math

import aiosqlite

from mfa.config import SecurityConfig
from store import throttle as throttle_store
from store.models import User


def wait_after(failures: int, security: SecurityConfig) -> float | None:
    """How long the account waits after ``failures`` consecutive failures (None: not at all).

    ``math.inf`` once ``failures`` reaches the hard limit.
    """
    if failures >= security.lockout_hard_limit:
        return math.inf
    beyond_free = failures - security.lockout_free_failures
    if beyond_free < 0:
        return None
    # Cap the exponent too: 2**1000 would still be a fine int, but there is no point.
    doubled = security.lockout_base_seconds * 2 ** min(beyond_free, 64)
    return float(min(doubled, security.lockout_max_seconds))


def wait_now(
    failures: int, locked_until: float | None, now: float, security: SecurityConfig
) -> float | None:
    """Seconds an account with this count and wait must still wait at ``now``; None: none.

    ``math.inf`` means locked until an administrator clears the count.
    """
    if failures >= security.lockout_hard_limit:
        return math.inf
    if locked_until is not None and locked_until > now:
        return locked_until - now
    return None


async def check(
    conn: aiosqlite.Connection, user: User, now: float, security: SecurityConfig
) -> float | None:
    """Seconds ``user`` must still wait before an attempt is judged; None when it may try now.

    ``math.inf`` means locked until an administrator clears the count. The count is read again
    through ``conn`` (not taken from ``user``), so a ``User`` read earlier is good enough.
    """
    state = await throttle_store.failure_state(conn, user.id)
    if state is None:
        return None
    return wait_now(state.failures, state.locked_until, now, security)


async def record_failure(
    conn: aiosqlite.Connection, user_id: int, now: float, security: SecurityConfig
) -> float | None:
    """Count one more consecutive failure; return the wait it imposes (None: none yet).

    Returns ``math.inf`` when the failure reaches the hard limit.
    """
    failures = await throttle_store.count_failure(conn, user_id)
    if failures is None:
        return None
    wait = wait_after(failures, security)
    # An infinite lock is expressed by the count itself; locked_until stays a finite time.
    locked_until = now + wait if wait is not None and math.isfinite(wait) else None
    await throttle_store.set_locked_until(conn, user_id, locked_until)
    return wait


async def clear(conn: aiosqlite.Connection, user_id: int) -> None:
    """Forget the account's failures and any wait: after a success, or an administrator's unlock."""
    await throttle_store.clear_failures(conn, user_id)


async def record_success(conn: aiosqlite.Connection, user_id: int) -> None:
    """A full success (the sign-in is complete): the consecutive-failure count starts over.

    A right password that still has to be followed by a code is *not* a full success: clearing the
    count there would let someone who knows the password guess codes without end.
    """
    await clear(conn, user_id)
