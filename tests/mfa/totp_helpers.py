"""An RFC 6238 implementation of the tests' own (hmac, hashlib, struct; not pyotp), and a worker
process that verifies a code against a shared database file."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import struct
from pathlib import Path
from typing import Any

from mfa import totp
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services, open_services
from tests.conftest import FAST_SECURITY


def reference_code(
    key: bytes, unix_time: float, *, digits: int = 6, step: int = 30, digest: Any = hashlib.sha1
) -> str:
    """RFC 6238 section 4 / RFC 4226 section 5.3, written out."""
    counter = int(unix_time // step)
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def key_of(secret_base32: str) -> bytes:
    return base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))


def config_at(tmp: Path) -> Config:
    return (
        Config(security=FAST_SECURITY)
        .with_database(tmp / "mfa.db")
        .replace("security", key_file=str(tmp / "mfa.key"))
    )


def race_worker(
    tmp: str, user_id: int, times: list[float], codes: list[str], barrier: Any, results: Any
) -> None:
    """In its own process: for each round, wait for the other worker, then verify that round's code.

    Puts the list of each round's status on ``results``.
    """

    async def rounds() -> list[str]:
        clock = ManualClock(times[0])
        services: Services = await open_services(config_at(Path(tmp)), clock=clock)
        statuses = []
        try:
            for when, code in zip(times, codes, strict=True):
                clock.set(when)
                await asyncio.to_thread(barrier.wait)
                result = await totp.verify_totp_sign_in(services, user_id, code)
                statuses.append(result.status)
        finally:
            await services.close()
        return statuses

    results.put(asyncio.run(rounds()))
