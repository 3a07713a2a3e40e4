"""Recovery codes: their shape and strength, single use (also from two processes at once), a new
set replacing the old, the throttle, and keeping them in a private file."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import stat
from pathlib import Path

import pytest

from mfa import recovery
from mfa.accounts import Account
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.recovery import ALPHABET, RecoveryError
from mfa.services import Services, open_services
from store import accounts as account_store
from store import audit
from tests.mfa.factor_helpers import granted, make_user, reload, services_for, set_up_sms

GROUPED = re.compile(r"^[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}$")


async def user_with_codes(services: Services) -> tuple[Account, list[str]]:
    user = await make_user(services)
    await set_up_sms(services, user)
    account = Account.of(await reload(services, user))
    codes = await recovery.issue_first_set(services, account)
    assert codes is not None
    return account, codes


def test_a_code_has_80_bits_from_32_characters_without_lookalikes() -> None:
    assert len(set(ALPHABET)) == 32 and not set("01IO") & set(ALPHABET)
    codes = [recovery.new_code() for _ in range(200)]
    assert all(GROUPED.match(code) for code in codes)
    assert len(set(codes)) == 200
    assert recovery.CODE_LENGTH * 5 >= 64
    assert recovery.normalise(" 7kqm 2xwd-9plt-c4rb ") == "7KQM2XWD9PLTC4RB"
    assert recovery.normalise("7KQM-2XWD-9PLT-C4R0") is None  # 0 is not in the alphabet


async def test_a_code_works_once_and_says_how_many_are_left(config: Config, clock) -> None:
    async with services_for(config, clock, demo=True) as services:
        account, codes = await user_with_codes(services)
        assert len(codes) == 10 and len(set(codes)) == 10
        stored = await services.db.fetchall(
            "SELECT hash FROM recovery_codes WHERE user_id = ?", (account.id,)
        )
        assert len(stored) == 10
        assert not any(code.replace("-", "") in row[0].upper() for row in stored for code in codes)

        used = await recovery.use_recovery_code(services, account, codes[3].lower())
        assert used.ok and used.message == "Recovery code accepted. You have 9 recovery codes left."
        again = await recovery.use_recovery_code(services, account, codes[3])
        assert not again.ok and again.message == recovery.WRONG
        assert await recovery.remaining(services, account.id) == 9
        events = [(e.event, e.detail) for e in await audit.events(services.db, account.id, limit=3)]
        # The use is followed by its security notice (no mail server here: the failure audited).
        assert events[0] == ("mfa.code_rejected", "sign-in: recovery code wrong")
        assert events[1][0] == "notice.failed"
        assert events[1][1] is not None and events[1][1].startswith("recovery code used: email")
        assert events[2] == ("mfa.recovery_code_used", "9 left")


async def test_a_new_set_replaces_the_old_one(config: Config, clock) -> None:
    async with services_for(config, clock, demo=True) as services:
        account, old = await user_with_codes(services)
        assert await recovery.issue_first_set(services, account) is None  # only once
        new = await recovery.new_set(services, account, attempt=await granted(services, account))
        assert not (await recovery.use_recovery_code(services, account, old[0])).ok
        assert (await recovery.use_recovery_code(services, account, new[0])).ok
        events = [e.event for e in await audit.events(services.db, account.id, limit=5)]
        # Each change is followed by its security notice (no mail server here: audited).
        assert events == [
            "notice.failed",
            "mfa.recovery_code_used",
            "mfa.code_rejected",
            "notice.failed",
            "mfa.recovery_codes_replaced",
        ]


async def test_wrong_codes_count_in_the_throttle_and_a_right_one_clears_it(
    config: Config, clock
) -> None:
    async with services_for(config, clock, demo=True) as services:
        account, codes = await user_with_codes(services)
        for _ in range(5):
            result = await recovery.use_recovery_code(services, account, "2222-2222-2222-2222")
        assert result.retry_at is not None and result.message.endswith("try again in 30 seconds.")
        assert (await recovery.use_recovery_code(services, account, codes[0])).status == "locked"
        clock.advance(31)
        assert (await recovery.use_recovery_code(services, account, codes[0])).ok
        user = await account_store.user_by_id(services.db, account.id)
        assert user is not None and user.failed_attempts == 0
        malformed = await recovery.use_recovery_code(services, account, "123456")
        assert malformed.status == "malformed"
        assert (await account_store.user_by_id(services.db, account.id)).failed_attempts == 0


def _use_in_another_process(config: Config, user_id: int, code: str, barrier) -> bool:
    async def use() -> bool:
        services = await open_services(config, clock=ManualClock())
        try:
            user = await account_store.user_by_id(services.db, user_id)
            assert user is not None
            barrier.wait()
            return (await recovery.use_recovery_code(services, Account.of(user), code)).ok
        finally:
            await services.close()

    return asyncio.run(use())


async def test_two_processes_entering_the_same_code_at_once_one_wins(config: Config, clock) -> None:
    async with services_for(config, clock, demo=True) as services:
        account, codes = await user_with_codes(services)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(
                _use_in_another_process,
                [(config, account.id, codes[0], barrier), (config, account.id, codes[0], barrier)],
            )
    assert sorted(results) == [False, True]
    services = await open_services(config, clock=clock)
    try:
        assert await recovery.remaining(services, account.id) == 9
    finally:
        await services.close()


def test_codes_are_saved_to_a_new_private_file_never_over_one(tmp_path: Path) -> None:
    codes = [recovery.new_code() for _ in range(10)]
    path = recovery.save_codes(str(tmp_path / "codes.txt"), codes, "jo@example.com", 0.0)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert all(code in text for code in codes) and "jo@example.com" in text
    with pytest.raises(RecoveryError, match="exists already"):
        recovery.save_codes(str(path), codes, "jo@example.com", 0.0)
    assert path.read_text() == text
    with pytest.raises(RecoveryError, match="Couldn't create"):
        recovery.save_codes(str(tmp_path / "missing" / "codes.txt"), codes, "x", 0.0)
