"""Password hashing with argon2id, and the rules a new password has to meet.

Hashing is CPU-bound: async callers use :meth:`Passwords.hash_async` / :meth:`Passwords.verify_async`,
which run it in a thread so the event loop (and the terminal UI) keeps answering.
"""

from __future__ import annotations

import asyncio
import unicodedata
from functools import cached_property
from typing import TYPE_CHECKING

from mfa.config import SecurityConfig
from mfa.text import unreadable

if TYPE_CHECKING:
    from argon2 import PasswordHasher


def normalise(password: str) -> str:
    """NFKC, so the same password typed on two keyboards gives the same bytes. Never truncated."""
    return unicodedata.normalize("NFKC", password)


class Passwords:
    """Hashes and checks passwords with the configured argon2id parameters."""

    def __init__(self, security: SecurityConfig) -> None:
        self._security = security

    @cached_property
    def _hasher(self) -> PasswordHasher:
        # argon2 (C bindings through cffi) is imported by the first hash or check, not at start-up:
        # the sign-in screen paints before anyone has typed a password.
        from argon2 import PasswordHasher

        return PasswordHasher(
            time_cost=self._security.argon2_time_cost,
            memory_cost=self._security.argon2_memory_kib,
            parallelism=self._security.argon2_parallelism,
        )

    @cached_property
    def _dummy_hash(self) -> str:
        """Verified against when there is no usable hash (unknown account, no password set), so
        those attempts cost one full verification like any other. Built from random bytes rather
        than by hashing, so it costs nothing."""
        return _unmatchable_hash(self._hasher)

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalise(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored_hash``.

        Every call costs one full argon2 verification, whether the hash is None (unknown account),
        unusable (an account without a password) or real, so the time taken reveals nothing.
        """
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        usable = stored_hash is not None and _parses(stored_hash)
        try:
            matched = self._hasher.verify(
                stored_hash if usable else self._dummy_hash, normalise(password)
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and usable

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the stored parameters are weaker than (or differ from) the configured ones."""
        from argon2.exceptions import InvalidHashError

        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self.verify, stored_hash, password)


def _parses(stored_hash: str) -> bool:
    from argon2 import extract_parameters
    from argon2.exceptions import InvalidHashError

    try:
        extract_parameters(stored_hash)
    except (InvalidHashError, ValueError):
        return False
    return True


def _unmatchable_hash(hasher: PasswordHasher) -> str:
    """A well-formed argon2id hash with the hasher's parameters that no password matches."""
    import base64
    import secrets  # with hashlib, a few milliseconds of start-up otherwise

    def encode(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii").rstrip("=")

    salt = encode(secrets.token_bytes(hasher.salt_len))
    digest = encode(secrets.token_bytes(hasher.hash_len))
    return (
        f"$argon2id$v=19$m={hasher.memory_cost},t={hasher.time_cost},p={hasher.parallelism}"
        f"${salt}${digest}"
    )


PRODUCT_WORDS = (
    "mfa-tui",
    "mfatui",
    "pitney",
    "pitneyship",
    "pitneytrack",
    "pitneyanalytics",
    "locker",
)
"""Words that make a password guessable for this product in particular."""


class PasswordRejected(ValueError):
    """The password breaks a rule; the message says which, in words a person understands."""


_common: frozenset[str] | None = None


def _common_passwords() -> frozenset[str]:
    # 30,000 most common passwords, shipped with zxcvbn; loaded once, on first use.
    global _common
    if _common is None:
        from zxcvbn.frequency_lists import FREQUENCY_LISTS

        _common = frozenset(FREQUENCY_LISTS["passwords"])
    return _common


def check_password(password: str, security: SecurityConfig, *, email: str = "") -> str:
    """Return the normalised password, or raise :class:`PasswordRejected` saying why.

    The rules (NIST SP 800-63B): a minimum length, a generous maximum, no composition rules, and
    no common or context-derived passwords.
    """
    if unreadable(password):
        # Lone surrogates: bytes that didn't match the locale's encoding. They can't be hashed.
        raise PasswordRejected(
            "The password has characters that can't be read as text (check the terminal's encoding)."
        )
    value = normalise(password)
    if len(value) < security.min_password_length:
        raise PasswordRejected(
            f"Use at least {security.min_password_length} characters (this one has {len(value)})."
        )
    if len(value) > security.max_password_length:
        raise PasswordRejected(f"Use at most {security.max_password_length} characters.")
    lowered = value.casefold()
    if lowered in _common_passwords():
        raise PasswordRejected("That password is one of the most common passwords. Choose another.")
    local_part = email.partition("@")[0].casefold()
    context = [w for w in (*PRODUCT_WORDS, local_part) if len(w) >= 4]
    for word in context:
        if word in lowered:
            raise PasswordRejected(f"Don't build the password from {word!r}: it is easy to guess.")
    return value
