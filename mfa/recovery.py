"""Recovery codes: the way back in for a user who lost the phone or the mailbox their codes go to.

A set is :data:`CODE_COUNT` codes of :data:`CODE_LENGTH` characters from a 32-character alphabet
without lookalikes (no ``0``/``O``, ``1``/``I``): 16 x 5 = 80 bits each, grouped by four for
reading aloud (``7KQM-2XWD-9PLT-C4RB``). A set is made right after a user's first method is
verified (:func:`issue_first_set`), shown once, and can be replaced from the Security page
(:func:`new_set`: the old set stops working). An admin's reset of a user's MFA removes it.

Stored hashed, with a keyed hash: HMAC-SHA256 under a key derived from the installation's key file
(``mfa.keys``, outside the database), over the user's id and the code. A slow password hash
(argon2) protects guessable secrets; these codes are 80 random bits, so a fast hash loses nothing
against guessing, and the key means a copy of the database alone gives nothing to guess against.
Being deterministic, the hash lets a code be found with one indexed lookup, and used with one
compare-and-set ``UPDATE`` in the sign-in's ``BEGIN IMMEDIATE`` transaction: of two sessions (or
processes) entering the same code, one wins and the other is refused. Binding the user's id into
the hash means a row copied to another account matches nothing.

A wrong recovery code counts in the account's failure throttle (``mfa.throttle``) like a wrong
one-time code; a right one clears it, as a completed sign-in does.

Audit events: ``mfa.recovery_codes_issued`` (first set), ``mfa.recovery_codes_replaced``,
``mfa.recovery_code_used`` (``detail``: how many are left), ``mfa.code_rejected`` with
``detail`` ``sign-in: recovery code wrong``. No code is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from mfa import notices, reauth, throttle
from mfa.accounts import Account
from mfa.codes import VerifyResult
from mfa.keys import SecretKeyError, installation_key
from mfa.notices import NoticeKind
from mfa.services import Services
from mfa.wording import lock_sentence
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store import recovery as recovery_store

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""32 characters (5 bits each), without 0, 1, I and O, which are read as one another."""
CODE_LENGTH = 16
"""Characters per code: 80 bits."""
GROUP = 4
CODE_COUNT = 10
FILE_MODE = 0o600

WRONG = "That recovery code isn't right, or it has been used already."
MALFORMED = (
    f"Enter a recovery code: {CODE_LENGTH} letters and digits, like "
    "7KQM-2XWD-9PLT-C4RB (the dashes are optional)."
)


class RecoveryError(ValueError):
    """Recovery codes couldn't be made or kept; the message says why and is fit to show."""


def new_code() -> str:
    """A fresh code from the OS CSPRNG, grouped: ``7KQM-2XWD-9PLT-C4RB``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))


def normalise(text: str) -> str | None:
    """The code's characters as stored in the hash (upper case, no separators); None when the
    text can't be a code."""
    compact = re.sub(r"[\s\-]", "", text).upper()
    if len(compact) != CODE_LENGTH or any(character not in ALPHABET for character in compact):
        return None
    return compact


def _hash_key(services: Services) -> bytes:
    # A key of its own for this purpose, derived from the installation's key file.
    master = installation_key(services.config)
    return hmac.new(master, b"mfa-tui recovery codes v1", hashlib.sha256).digest()


def code_hash(key: bytes, user_id: int, compact: str) -> str:
    """The stored form of a normalised code of ``user_id``."""
    return hmac.new(key, f"{user_id}:{compact}".encode("ascii"), hashlib.sha256).hexdigest()


def _make_set(key: bytes, user_id: int) -> tuple[list[str], list[str]]:
    codes = [new_code() for _ in range(CODE_COUNT)]
    hashes = [code_hash(key, user_id, normalise(code) or "") for code in codes]
    return codes, hashes


def _key_or_error(services: Services) -> bytes:
    try:
        return _hash_key(services)
    except SecretKeyError as error:
        raise RecoveryError(str(error)) from None


async def issue_first_set(services: Services, user: Account) -> list[str] | None:
    """Make the user's first set, right after their first method is verified.

    None when the user has a set already (used or not), or more than one verified method (they
    were set up before; the Security page offers them a set).
    """
    key = _key_or_error(services)
    codes, hashes = _make_set(key, user.id)
    async with services.db.write() as conn:
        if await recovery_store.has_any(conn, user.id):
            return None
        verified = [m for m in await factor_store.methods_in(conn, user.id) if m.verified]
        if len(verified) != 1:
            return None
        await recovery_store.replace_codes(conn, user.id, hashes)
        await audit.record(
            conn, services.now(), "mfa.recovery_codes_issued",
            actor_id=user.id, subject_id=user.id, detail=f"{CODE_COUNT} codes",
        )  # fmt: skip
    return codes


async def new_set(services: Services, user: Account, *, attempt: str) -> list[str]:
    """Replace the user's set with a new one (every earlier code stops working).

    Recovery codes stand in for a method, so replacing them needs the sign-in ``attempt``'s
    re-authentication grant (``mfa.reauth.ReauthRequired`` otherwise); the user is told by email
    (``mfa.notices``).
    """
    key = _key_or_error(services)
    codes, hashes = _make_set(key, user.id)
    async with services.db.write() as conn:
        await reauth.require(conn, user.id, attempt, services.now())
        await recovery_store.replace_codes(conn, user.id, hashes)
        await audit.record(
            conn, services.now(), "mfa.recovery_codes_replaced",
            actor_id=user.id, subject_id=user.id, detail=f"{CODE_COUNT} codes",
        )  # fmt: skip
    await notices.notify(services, user.id, NoticeKind.RECOVERY_CODES_REPLACED)
    return codes


async def remaining(services: Services, user_id: int) -> int:
    """How many of the user's recovery codes still work."""
    return await recovery_store.unused_count(services.db, user_id)


async def has_set(services: Services, user_id: int) -> bool:
    return await recovery_store.has_any(services.db, user_id)


def left_sentence(left: int) -> str:
    if left == 0:
        return "You have no recovery codes left: make a new set on the Security settings page."
    noun = "code" if left == 1 else "codes"
    return f"You have {left} recovery {noun} left."


async def use_recovery_code(services: Services, user: Account, entered: str) -> VerifyResult:
    """Finish a sign-in with a recovery code: right and unused, it is used up; see the module
    docstring. The result's message says how many codes are left."""
    security = services.config.security
    now = services.now()
    try:
        key = _hash_key(services)
    except SecretKeyError as error:
        return VerifyResult(False, "unavailable", str(error))
    compact = normalise(entered)
    async with services.db.write() as conn:
        fresh = await account_store.user_by_id(conn, user.id)
        if fresh is None:
            return VerifyResult(False, "no_code", WRONG)
        wait = await throttle.check(conn, fresh, now, security)
        if wait is not None:
            retry_at = now + wait if math.isfinite(wait) else None
            return VerifyResult(False, "locked", lock_sentence(wait), retry_at=retry_at)
        if compact is None:
            # Audited like every refusal; it counts against nothing.
            await audit.record(
                conn, now, "mfa.code_rejected",
                actor_id=user.id, subject_id=user.id, detail="sign-in: recovery code malformed",
            )  # fmt: skip
            return VerifyResult(False, "malformed", MALFORMED)
        if await recovery_store.use_code(conn, user.id, code_hash(key, user.id, compact), now):
            await throttle.record_success(conn, user.id)
            left = await recovery_store.unused_count(conn, user.id)
            await audit.record(
                conn, now, "mfa.recovery_code_used",
                actor_id=user.id, subject_id=user.id, detail=f"{left} left",
            )  # fmt: skip
            used = VerifyResult(True, "verified", f"Recovery code accepted. {left_sentence(left)}")
        else:
            used = None
            wait = await throttle.record_failure(conn, user.id, now, security)
            await audit.record(
                conn, now, "mfa.code_rejected",
                actor_id=user.id, subject_id=user.id, detail="sign-in: recovery code wrong",
            )  # fmt: skip
    if used is not None:
        # After the commit: a notice never holds up or undoes the sign-in.
        await notices.notify(services, user.id, NoticeKind.RECOVERY_CODE_USED, remaining=left)
        return used
    message = WRONG
    retry_at = None
    if wait is not None:
        retry_at = now + wait if math.isfinite(wait) else None
        message += " " + lock_sentence(wait)
    return VerifyResult(False, "wrong", message, retry_at=retry_at)


def codes_text(codes: list[str], email: str, now: float) -> str:
    """The codes as a file or the clipboard keeps them."""
    made = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"mfa-tui recovery codes for {email} (made {made})",
        "Each code works once, in place of a verification code. Keep them somewhere safe.",
        "",
        *codes,
        "",
    ]
    return "\n".join(lines)


def save_codes(path_text: str, codes: list[str], email: str, now: float) -> Path:
    """Write the codes to a new file only the user can read (mode 0600); never over a file."""
    if not path_text.strip():
        raise RecoveryError("Type the name of the file to save the codes in.")
    path = Path(path_text.strip()).expanduser()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        raise RecoveryError(f"{path} exists already: choose another name.") from None
    except OSError as error:
        raise RecoveryError(f"Couldn't create {path}: {error.strerror}.") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(codes_text(codes, email, now))
    return path.resolve()
