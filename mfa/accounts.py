"""Subscriptions and user accounts: creating them, importing them from CSV, editing addresses.

Every address is checked where it is written (``mfa.addresses``) and the verdict is stored, so the
MFA process only reads it. Screens see an account as an :class:`Account`, which has no password
hash in it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path

from mfa import notices, throttle
from mfa.addresses import AddressError, AddressVerdict, check_address, lookup_form
from mfa.method_policy import DEFAULT_ALLOWED, stored_form
from mfa.notices import NoticeKind
from mfa.passwords import PasswordRejected, check_password, normalise
from mfa.services import Services
from mfa.text import UNREADABLE, describe, refused_character, shown, unreadable
from mfa.wording import clause, lock_sentence
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store.db import Transaction
from store.email_key import email_key
from store.models import Subscription, User

ROLES = ("admin", "user")
UNUSABLE_PASSWORD = "!no-password-set"
"""Stored instead of a hash for imported accounts without a password: nothing verifies against it."""

MAX_NAME_LENGTH = 500
"""The longest display or subscription name accepted."""


class AccountError(ValueError):
    """An account change that can't be made; the message says why."""


@dataclass(frozen=True, slots=True)
class Account:
    """A user account as the screens see it: no password hash, no failure count."""

    id: int
    subscription_id: int
    email: str
    email_deliverable: bool
    """The verdict stored when the address was written: can it receive codes?"""
    email_problem: str | None
    """Why the address can't receive codes (None when it can)."""
    display_name: str
    role: str
    status: str
    mfa_required: bool
    last_method_id: int | None
    preferred_method_id: int | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            id=user.id,
            subscription_id=user.subscription_id,
            email=user.email,
            email_deliverable=bool(user.email_deliverable),
            email_problem=user.email_problem,
            display_name=user.display_name,
            role=user.role,
            status=user.status,
            mfa_required=bool(user.mfa_required),
            last_method_id=user.last_method_id,
            preferred_method_id=user.preferred_method_id,
        )


@dataclass(frozen=True, slots=True)
class AccountHome:
    """What the home screen shows: the account, its subscription's name and products."""

    account: Account
    subscription_name: str
    """Empty when the subscription no longer exists."""
    products: list[str]


async def account_by_id(services: Services, user_id: int) -> Account | None:
    """The account as it is stored now (None when it no longer exists)."""
    user = await account_store.user_by_id(services.db, user_id)
    return Account.of(user) if user is not None else None


def check_name(text: str, what: str = "The display name") -> str:
    """The trimmed name, or AccountError saying why it can't be stored (``what`` names it)."""
    name = text.strip()
    if not name:
        raise AccountError(f"{what} is empty.")
    # Joiners are allowed: Persian and Indic names need them.
    refused = refused_character(name, allow_joiners=True)
    if refused is not None:
        raise AccountError(f"{what} '{shown(name)}' contains {describe(refused)}.")
    if len(name) > MAX_NAME_LENGTH:
        raise AccountError(f"{what} is longer than {MAX_NAME_LENGTH} characters.")
    return name


def _checked_address(services: Services, email: str) -> AddressVerdict:
    try:
        return check_address(email, services.config.email.internal_domains)
    except AddressError as error:
        raise AccountError(str(error)) from None


def _checked_password(password: str, email: str, services: Services) -> str:
    try:
        return check_password(password, services.config.security, email=email)
    except PasswordRejected as error:
        raise AccountError(str(error)) from None


async def require_account(services: Services, email: str) -> Account:
    """The account signing in with ``email``; AccountError names the address when there is none."""
    if unreadable(email):
        raise AccountError(f"The address '{shown(email)}': {UNREADABLE}")
    user = await account_store.user_by_email(
        services.db, lookup_form(email, services.config.email.internal_domains)
    )
    if user is None:
        raise AccountError(f"There is no account with the address '{shown(email.strip())}'.")
    return Account.of(user)


async def accounts_of(services: Services, subscription_id: int) -> list[Account]:
    """Every account of a subscription, in the store's order (by address)."""
    return [Account.of(user) for user in await account_store.users_of(services.db, subscription_id)]


async def account_home(services: Services, account: Account) -> AccountHome:
    """The home screen's data, read fresh (``account`` stands in when it has just been deleted)."""
    fresh = await account_by_id(services, account.id) or account
    subscription = await account_store.subscription_by_id(services.db, fresh.subscription_id)
    products = await account_store.products_of(services.db, fresh.subscription_id)
    return AccountHome(fresh, subscription.name if subscription else "", products)


@dataclass
class ImportReport:
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    """One line per bad row, with its line number. When there are any, nothing was imported."""
    warnings: list[str] = field(default_factory=list)
    """Rows imported with a flag (an address that can't receive codes)."""


async def create_subscription(services: Services, name: str, products: list[str]) -> int:
    """A new subscription; it allows every MFA method (``mfa.method_policy.DEFAULT_ALLOWED``)."""
    name = check_name(name, "The subscription's name")
    for product in products:
        check_name(product, "The product name")
    async with services.db.write() as conn:
        if await account_store.subscription_by_name(conn, name) is not None:
            raise AccountError(f"A subscription called '{shown(name)}' exists already.")
        return await account_store.create_subscription(
            conn, name, products, services.now(), stored_form(DEFAULT_ALLOWED)
        )


async def require_subscription(services: Services, name: str | None) -> Subscription:
    """The named subscription, or the only one when ``name`` is None."""
    if name:
        if unreadable(name):
            raise AccountError(f"The subscription name '{shown(name)}': {UNREADABLE}")
        found = await account_store.subscription_by_name(services.db, name)
        if found is None:
            raise AccountError(f"There is no subscription called '{shown(name)}'.")
        return found
    every = await account_store.subscriptions(services.db)
    if not every:
        raise AccountError("There is no subscription yet. Run 'mfa-tui admin init' first.")
    if len(every) > 1:
        names = ", ".join(s.name for s in every)
        raise AccountError(f"Name the subscription with --subscription (one of: {names}).")
    return every[0]


async def _checked_user(
    services: Services,
    email: str,
    display_name: str,
    role: str,
    password: str | None,
    mfa_required: bool,
) -> tuple[account_store.NewUser, str | None]:
    """Check a new account's fields and hash its password; nothing is written.

    Returns what to insert and a warning when its address can't receive codes.
    """
    if role not in ROLES:
        raise AccountError(f"Unknown role '{shown(role)}': use admin or user.")
    verdict = _checked_address(services, email)
    name = check_name(display_name)
    if password is None:
        password_hash = UNUSABLE_PASSWORD
    else:
        checked = _checked_password(password, verdict.email, services)
        password_hash = await services.hasher.hash_async(checked)
    new = account_store.NewUser(
        email=verdict.email,
        display_name=name,
        role=role,
        password_hash=password_hash,
        email_deliverable=verdict.deliverable,
        email_problem=verdict.problem,
        mfa_required=mfa_required,
    )
    warning = None if verdict.deliverable else f"{verdict.email}: {verdict.problem}"
    return new, warning


async def _insert_new_user(
    services: Services,
    conn: Transaction,
    subscription_id: int,
    new: account_store.NewUser,
    actor_id: int | None,
) -> int:
    if await account_store.existing_emails(conn, [new.email]):
        raise AccountError(f"An account with the address {new.email} exists already.")
    user_id = await account_store.insert_user(conn, subscription_id, new, services.now())
    await audit.record(
        conn, services.now(), "user.added", actor_id=actor_id, subject_id=user_id, detail=new.role
    )
    return user_id


async def add_user(
    services: Services,
    subscription: Subscription,
    email: str,
    display_name: str,
    role: str,
    password: str | None,
    *,
    actor_id: int | None = None,
) -> tuple[User, str | None]:
    """Create one account. Returns the user and a warning when its address can't receive codes."""
    new, warning = await _checked_user(
        services, email, display_name, role, password, subscription.mfa_enabled
    )
    async with services.db.write() as conn:
        user_id = await _insert_new_user(services, conn, subscription.id, new, actor_id)
    user = await account_store.user_by_id(services.db, user_id)
    assert user is not None
    return user, warning


async def create_subscription_with_admin(
    services: Services,
    name: str,
    products: list[str],
    email: str,
    display_name: str,
    password: str,
) -> tuple[Subscription, User, str | None]:
    """A new subscription, its products and its first admin, all or nothing.

    Every check comes first (the name is free, the address, the display name, the password rules);
    then one transaction creates the three, so a refusal leaves nothing behind and the same
    command can simply be run again. Returns the subscription, the admin and an address warning.
    """
    name = check_name(name, "The subscription's name")
    for product in products:
        check_name(product, "The product name")
    if await account_store.subscription_by_name(services.db, name) is not None:
        raise AccountError(f"A subscription called '{shown(name)}' exists already.")
    new, warning = await _checked_user(services, email, display_name, "admin", password, False)
    async with services.db.write() as conn:
        if await account_store.subscription_by_name(conn, name) is not None:
            raise AccountError(f"A subscription called '{shown(name)}' exists already.")
        subscription_id = await account_store.create_subscription(
            conn, name, products, services.now(), stored_form(DEFAULT_ALLOWED)
        )
        user_id = await _insert_new_user(services, conn, subscription_id, new, None)
    subscription = await account_store.subscription_by_id(services.db, subscription_id)
    user = await account_store.user_by_id(services.db, user_id)
    assert subscription is not None and user is not None
    return subscription, user, warning


async def import_csv(
    services: Services, subscription: Subscription, path: Path, *, actor_id: int | None = None
) -> ImportReport:
    """Import users from a CSV file; see :func:`import_csv_text`."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AccountError(
            f"Couldn't read {shown(str(path))}: {error.strerror or error}."
        ) from None
    # Decoded without translating line ends, so line numbers count as the CSV reader counts them.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise AccountError(f"Couldn't read {shown(str(path))}: line {line} isn't UTF-8.") from None
    return await import_csv_text(services, subscription, text, actor_id=actor_id)


def _csv_problem(error: csv.Error) -> str:
    """The CSV reader's complaint in words a person can act on."""
    detail = str(error)
    if "field limit" in detail:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "expected after" in detail:
        return (
            "a quoted field has to end with its closing quote just before a comma or the line end"
        )
    if "unexpected end of data" in detail:
        return "a quoted field is never closed (a quote is missing)"
    return f"this line can't be read as CSV ({shown(detail)})"


async def import_csv_text(
    services: Services, subscription: Subscription, text: str, *, actor_id: int | None = None
) -> ImportReport:
    """Import users from CSV text with the header ``email,name,role`` (``password`` optional).

    All or nothing: when any row is bad, the report lists every bad row by line number and nothing
    is imported. Rows without a password get an account that can't sign in until one is set.
    A line the CSV reader can't read (stray quotes, a field over its limit) ends the reading with
    one error naming that line. Every kind of line end (``\\n``, ``\\r\\n``, a bare ``\\r``) ends a
    line, as in the file an editor shows.
    """
    report = ImportReport()
    # strict: `"a@x.com"x` is an error rather than the address `a@x.comx`.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = _read_rows(services, subscription, reader, report)
    except csv.Error as error:
        # The failing record starts on the line after the last one read completely.
        report.errors.append(f"line {reader.line_num + 1}: {_csv_problem(error)}.")
        report.warnings.clear()
        return report
    if report.errors:
        report.warnings.clear()
        return report
    hashed = []
    for line, new, password in rows:
        if password is not None:
            new = replace(new, password_hash=await services.hasher.hash_async(password))
        hashed.append((line, new))
    async with services.db.write() as conn:
        taken = await account_store.existing_emails(conn, [new.email for _, new in hashed])
        for line, new in hashed:
            if email_key(new.email) in taken:
                report.errors.append(
                    f"line {line}: an account with the address {new.email} exists already."
                )
        if report.errors:
            report.warnings.clear()
            return report
        now = services.now()
        for _, new in hashed:
            user_id = await account_store.insert_user(conn, subscription.id, new, now)
            await audit.record(conn, now, "user.imported", actor_id=actor_id, subject_id=user_id)
        report.imported = len(hashed)
    return report


def _read_rows(
    services: Services,
    subscription: Subscription,
    reader: csv.DictReader[str],
    report: ImportReport,
) -> list[tuple[int, account_store.NewUser, str | None]]:
    """Judge every row; problems and warnings go to ``report``. Raises ``csv.Error``."""
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [column for column in ("email", "name", "role") if column not in header]
    if missing:
        report.errors.append(f"line 1: the header needs the column(s) {', '.join(missing)}.")
        return []
    reader.fieldnames = header
    rows: list[tuple[int, account_store.NewUser, str | None]] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        values = {key: (value or "").strip() for key, value in row.items() if key}
        problems = []
        for column in ("email", "name", "role"):
            if not values.get(column):
                problems.append(f"{column} is missing")
        role = values.get("role", "").lower()
        if role and role not in ROLES:
            problems.append(f"unknown role '{shown(values['role'])}' (use admin or user)")
        if values.get("name"):
            try:
                check_name(values["name"], "the name")
            except AccountError as error:
                problems.append(str(error).rstrip("."))
        verdict = None
        if values.get("email"):
            try:
                verdict = check_address(values["email"], services.config.email.internal_domains)
            except AddressError as error:
                problems.append(str(error).rstrip("."))
        if verdict is not None:
            key = email_key(verdict.email)
            if key in seen:
                problems.append(f"{verdict.email} appears again (first on line {seen[key]})")
            else:
                seen[key] = line
        password = values.get("password") or None
        if password is not None and verdict is not None:
            try:
                password = check_password(password, services.config.security, email=verdict.email)
            except PasswordRejected as error:
                problems.append(f"password: {clause(str(error))}")
        if problems:
            report.errors.append(f"line {line}: " + "; ".join(map(clause, problems)) + ".")
            continue
        assert verdict is not None
        rows.append(
            (
                line,
                account_store.NewUser(
                    email=verdict.email,
                    display_name=values["name"],
                    role=role,
                    password_hash=UNUSABLE_PASSWORD,
                    email_deliverable=verdict.deliverable,
                    email_problem=verdict.problem,
                    mfa_required=subscription.mfa_enabled,
                ),
                password,
            )
        )
        if not verdict.deliverable:
            report.warnings.append(f"line {line}: {verdict.email}: {verdict.problem}")
    return rows


async def set_email(
    services: Services, user_id: int, email: str, *, actor_id: int | None = None
) -> Account:
    """Change a user's sign-in address (checked and its verdict stored).

    Nobody has proven the new address yet, so a verified email method must be verified again: it
    stops receiving codes until then (at the next sign-in the user verifies with another method,
    or sets email up again). The old address, when it could receive mail, is told
    (``mfa.notices``).
    """
    verdict = _checked_address(services, email)
    async with services.db.write() as conn:
        before = await account_store.user_by_id(conn, user_id)
        if before is None:
            raise AccountError("That account no longer exists.")
        if await account_store.email_taken_by_other(conn, verdict.email, user_id):
            raise AccountError(f"An account with the address {verdict.email} exists already.")
        # Raised inside the transaction, so nothing (no audit row either) is written.
        if not await account_store.set_email(
            conn, user_id, verdict.email, verdict.deliverable, verdict.problem
        ):
            raise AccountError("That account no longer exists.")
        now = services.now()
        await audit.record(
            conn, now, "user.email_changed", actor_id=actor_id, subject_id=user_id,
            detail=verdict.email,
        )  # fmt: skip
        moved = before.email.lower() != verdict.email.lower()
        email_method = await factor_store.method_of_kind(conn, user_id, "email")
        if moved and email_method is not None and email_method.verified:
            await factor_store.mark_unverified(conn, email_method.id)
            await audit.record(
                conn, now, "mfa.method_unverified", actor_id=actor_id, subject_id=user_id,
                detail="email: the address changed",
            )  # fmt: skip
    if moved:
        await notices.notify(
            services, user_id, NoticeKind.EMAIL_CHANGED, actor_id=actor_id,
            old_address=before.email if before.email_deliverable else None,
        )  # fmt: skip
    account = await account_by_id(services, user_id)
    if account is None:
        raise AccountError("That account no longer exists.")
    return account


async def set_password(
    services: Services, user_id: int, password: str, *, actor_id: int | None = None
) -> None:
    """An administrator sets the user's password; the account's failure count and any lock go."""
    user = await account_store.user_by_id(services.db, user_id)
    if user is None:
        raise AccountError("That account no longer exists.")
    checked = _checked_password(password, user.email, services)
    password_hash = await services.hasher.hash_async(checked)
    async with services.db.write() as conn:
        fresh = await account_store.user_by_id(conn, user_id)
        cleared = fresh.failed_attempts if fresh is not None else 0
        if not await account_store.set_password_hash(conn, user_id, password_hash):
            raise AccountError("That account no longer exists.")
        # An administrator's new password also unlocks the account: locked, the new password
        # would be refused like the old one.
        await throttle.clear(conn, user_id)
        await audit.record(
            conn, services.now(), "user.password_set", actor_id=actor_id, subject_id=user_id,
            detail=f"{cleared} failures cleared" if cleared else None,
        )  # fmt: skip


CURRENT_PASSWORD_WRONG = "Your current password isn't right."
SAME_PASSWORD = "Choose a password different from your current one."


async def change_password(services: Services, user_id: int, current: str, new: str) -> None:
    """The user ``user_id`` replaces their own password, proving they know the current one.

    Raises :class:`AccountError` with the sentence to show. The checks that cost nothing come
    first and use up no try: the new password has to differ from the one typed as current and meet
    the rules (:func:`mfa.passwords.check_password`, whose message names the rule). Then the current
    password is verified (argon2, in a thread) and judged in one write transaction with the shared
    throttle (``mfa.throttle``): while the account has to wait nothing is judged; a wrong current
    password counts as one failure, and the message says how long to wait when it starts one. A
    right one doesn't clear the count: only a completed sign-in does.

    Audit events: ``user.password_changed``; ``user.password_change_failed`` (``detail``: ``wrong
    current password`` or ``account locked``). Neither password is logged anywhere.
    """
    user = await account_store.user_by_id(services.db, user_id)
    if user is None:
        raise AccountError("That account no longer exists.")
    security = services.config.security
    if unreadable(current):
        raise AccountError(f"The current password: {UNREADABLE}")
    if normalise(new) == normalise(current):
        raise AccountError(SAME_PASSWORD)
    try:
        checked = check_password(new, security, email=user.email)
    except PasswordRejected as error:
        raise AccountError(str(error)) from None
    # The slow parts run before the transaction, so the write lock is held briefly.
    matched = await services.hasher.verify_async(user.password_hash, current)
    new_hash = await services.hasher.hash_async(checked) if matched else None
    now = services.now()
    refusal: str | None = None
    async with services.db.write() as conn:
        wait = await throttle.check(conn, user, now, security)
        if wait is not None:
            refusal = lock_sentence(wait)
            await audit.record(
                conn, now, "user.password_change_failed",
                actor_id=user.id, subject_id=user.id, detail="account locked",
            )  # fmt: skip
        else:
            # Only over the hash the current password was verified against: had an administrator
            # set another password meanwhile, the one typed is no longer current.
            changed = new_hash is not None and await account_store.replace_password_hash(
                conn, user.id, user.password_hash, new_hash
            )
            if changed:
                await audit.record(
                    conn, now, "user.password_changed", actor_id=user.id, subject_id=user.id
                )
            else:
                wait = await throttle.record_failure(conn, user.id, now, security)
                refusal = CURRENT_PASSWORD_WRONG
                if wait is not None:
                    refusal += " " + lock_sentence(wait)
                await audit.record(
                    conn, now, "user.password_change_failed",
                    actor_id=user.id, subject_id=user.id, detail="wrong current password",
                )  # fmt: skip
    # Raised after the transaction: raising inside it would roll back the failure just counted.
    if refusal is not None:
        raise AccountError(refusal)
