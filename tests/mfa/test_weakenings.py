"""Tests that fail when a protection is quietly weakened.

Each one was checked by making the weakening by hand and watching it fail:

- every method getting the same constant secret (every code predictable);
- skipping the dummy password verification for unknown addresses (a timing leak that tells which
  addresses exist);
- dropping the overall deadline of an email send (a server trickling its answers is then only
  caught by the per-answer timeout, i.e. never);
- no retry when another connection holds the database's write lock for a moment;
- the code generator drifting from HOTP (RFC 4226, appendix D test vectors).
"""

from __future__ import annotations

import asyncio
import base64
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mfa import codes
from mfa.clock import ManualClock
from mfa.config import Config, EmailConfig
from mfa.delivery import DeliveryError, Message
from mfa.delivery.email import EmailSender
from mfa.keys import secret_box
from mfa.services import Services
from mfa.signin import SignInOutcome, sign_in
from store import db as store_db
from store import open_database
from tests.mfa.factor_helpers import make_user, services_for, set_up_email, set_up_sms
from tests.smtp_server import SmtpSink

# ------------------------------------------------------------------------------ distinct secrets


async def test_every_method_of_every_user_has_its_own_secret_and_codes(
    config: Config, clock: ManualClock
) -> None:
    async with SmtpSink() as sink, services_for(config, clock, sink=sink, demo=True) as services:
        users = [
            await make_user(services, "jordan.lee@example.com"),
            await make_user(services, "sam.patel@example.com"),
        ]
        for user in users:
            clock.advance(3600)
            await set_up_email(services, user, sink)
            clock.advance(3600)
            await set_up_sms(services, user)
        rows = await services.db.fetchall("SELECT user_id, kind, secret FROM mfa_methods")
        assert len(rows) == 4
        box = secret_box(services.config.key_path)
        secrets = [box.decrypt(row["secret"]) for row in rows]
        assert len(set(secrets)) == 4, "two methods share a secret"
        for secret in secrets:
            assert len(base64.b32decode(secret)) >= 20  # 160 bits, RFC 4226's recommendation
        # The same counter gives different codes on different methods (1 in 10^6 chance each of
        # a coincidence; eight counters make a false alarm practically impossible).
        runs = {
            tuple(codes.code_for(secret, counter) for counter in range(8)) for secret in secrets
        }
        assert len(runs) == 4


# ---------------------------------------------------------------------------- the dummy hash


class CountingHasher:
    """Stands in for the argon2 ``PasswordHasher`` of a ``Passwords`` object, counting checks."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified: list[str] = []

    def verify(self, stored_hash: str, password: str) -> bool:
        self.verified.append(stored_hash)
        return self.real.verify(stored_hash, password)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_an_unknown_address_costs_one_real_verification_against_the_dummy_hash(
    services: Services,
) -> None:
    user = await make_user(services)
    passwords = services.hasher
    counting = CountingHasher(passwords._hasher)
    dummy = passwords._dummy_hash
    passwords.__dict__["_hasher"] = counting  # replaces the cached property for this object

    refused = await sign_in(services, "nobody@example.com", "any password at all")
    assert refused.outcome is SignInOutcome.REJECTED
    assert counting.verified == [dummy]

    # An account without a usable password is checked against it too.
    counting.verified.clear()
    refused = await sign_in(services, user.email, "any password at all")
    assert refused.outcome is SignInOutcome.REJECTED
    assert counting.verified == [dummy]


# -------------------------------------------------------------------- the overall SMTP deadline


@pytest.fixture
async def trickling_server() -> AsyncIterator[int]:
    """An SMTP server on 127.0.0.1 that sends each answer a byte at a time: every answer arrives
    within 0.45 s (well inside a per-answer timeout of 1 s), but a whole conversation takes about
    3 s. Returns its port."""
    byte_gap = 0.03

    async def say(writer: asyncio.StreamWriter, line: str) -> None:
        for byte in (line + "\r\n").encode():
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(byte_gap)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await say(writer, "220 slow.example ESMTP")
            in_data = False
            while line := await reader.readline():
                text = line.decode(errors="replace").rstrip("\r\n")
                if in_data:
                    if text == ".":
                        in_data = False
                        await say(writer, "250 queued")
                    continue
                verb = text[:4].upper()
                if verb in ("EHLO", "HELO"):
                    await say(writer, "250 slow.example")
                elif verb == "DATA":
                    in_data = True
                    await say(writer, "354 go on")
                elif verb == "QUIT":
                    await say(writer, "221 bye")
                    break
                else:
                    await say(writer, "250 ok")
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


async def test_a_trickling_mail_server_is_cut_off_at_the_overall_deadline(
    trickling_server: int,
) -> None:
    config = EmailConfig(host="127.0.0.1", port=trickling_server, tls="none", timeout_seconds=1.0)
    message = Message(channel="email", recipient="jordan@example.com", subject="Hi", body="Hello")
    started = time.monotonic()
    with pytest.raises(DeliveryError):
        await EmailSender(config).send(message)
    elapsed = time.monotonic() - started
    assert elapsed < 1.8, f"the send took {elapsed:.2f} s with a 1 s deadline"


# ------------------------------------------------------------------------- retrying on a lock


async def test_a_write_waits_out_a_lock_held_for_a_moment_by_another_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's own busy handler is switched off, so only the retry of Database.write() can help.
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 0)
    path = tmp_path / "locked.db"
    database = await open_database(path)
    try:
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")
        asyncio.get_running_loop().call_later(0.3, other.commit)
        try:
            async with database.write() as conn:
                await conn.execute(
                    "INSERT INTO products (name) VALUES (?)", ("Written after the lock",)
                )
        finally:
            other.close()
        row = await database.fetchone("SELECT count(*) FROM products")
        assert row is not None and row[0] == 1
    finally:
        await database.close()


# ------------------------------------------------------------------------ RFC 4226 test vectors


RFC_4226_SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")
RFC_4226_CODES = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]
"""RFC 4226, appendix D: HOTP values for counters 0 to 9 of the ASCII secret "12345678901234567890"."""


def test_the_code_generator_gives_the_rfc_4226_test_vectors() -> None:
    assert [codes.code_for(RFC_4226_SECRET, counter) for counter in range(10)] == RFC_4226_CODES
