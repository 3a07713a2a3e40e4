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

from mfa import throttle
from mfa.addresses import AddressError, check_address
from mfa.passwords import PasswordRejected, check_password, normalise
from mfa.services import Services
from mfa.wording import lock_sentence
from store import accounts as account_store
from store import audit
from store.models import Subscription, User

ROLES = ("admin", "user")
UNUSABLE_PASSWORD = "!no-password-set"
"""Stored instead of a hash for imported accounts without a password: nothing verifies against it."""


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


async def require_account(services: Services, email: str) -> Account:
    """The account signing in with ``email``; AccountError names the address when there is none."""
    user = await account_store.user_by_email(services.db, email.strip())
    if user is None:
        raise AccountError(f"There is no account with the address {email}.")
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
    async with services.db.write() as conn:
        if await account_store.subscription_by_name(conn, name) is not None:
            raise AccountError(f"A subscription called {name!r} exists already.")
        return await account_store.create_subscription(conn, name, products, services.now())


async def require_subscription(services: Services, name: str | None) -> Subscription:
    """The named subscription, or the only one when ``name`` is None."""
    if name:
        found = await account_store.subscription_by_name(services.db, name)
        if found is None:
            raise AccountError(f"There is no subscription called {name!r}.")
        return found
    every = await account_store.subscriptions(services.db)
    if not every:
        raise AccountError("There is no subscription yet. Run 'mfa-tui admin init' first.")
    if len(every) > 1:
        names = ", ".join(s.name for s in every)
        raise AccountError(f"Name the subscription with --subscription (one of: {names}).")
    return every[0]


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
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use admin or user.")
    try:
        verdict = check_address(email)
    except AddressError as error:
        raise AccountError(str(error)) from None
    if not display_name.strip():
        raise AccountError("The display name is empty.")
    if password is None:
        password_hash = UNUSABLE_PASSWORD
    else:
        try:
            checked = check_password(password, services.config.security, email=verdict.email)
        except PasswordRejected as error:
            raise AccountError(str(error)) from None
        password_hash = await services.hasher.hash_async(checked)
    new = account_store.NewUser(
        email=verdict.email,
        display_name=display_name.strip(),
        role=role,
        password_hash=password_hash,
        email_deliverable=verdict.deliverable,
        email_problem=verdict.problem,
        mfa_required=subscription.mfa_enabled,
    )
    async with services.db.write() as conn:
        if await account_store.existing_emails(conn, [verdict.email]):
            raise AccountError(f"An account with the address {verdict.email} exists already.")
        user_id = await account_store.insert_user(conn, subscription.id, new, services.now())
        await audit.record(
            conn, services.now(), "user.added", actor_id=actor_id, subject_id=user_id, detail=role
        )
    user = await account_store.user_by_id(services.db, user_id)
    assert user is not None
    warning = None if verdict.deliverable else f"{verdict.email}: {verdict.problem}"
    return user, warning


async def import_csv(
    services: Services, subscription: Subscription, path: Path, *, actor_id: int | None = None
) -> ImportReport:
    """Import users from a CSV file; see :func:`import_csv_text`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise AccountError(f"Couldn't read {path}: {error}") from None
    return await import_csv_text(services, subscription, text, actor_id=actor_id)


async def import_csv_text(
    services: Services, subscription: Subscription, text: str, *, actor_id: int | None = None
) -> ImportReport:
    """Import users from CSV text with the header ``email,name,role`` (``password`` optional).

    All or nothing: when any row is bad, the report lists every bad row by line number and nothing
    is imported. Rows without a password get an account that can't sign in until one is set.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [column for column in ("email", "name", "role") if column not in header]
    if missing:
        report.errors.append(f"line 1: the header needs the column(s) {', '.join(missing)}.")
        return report
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
            problems.append(f"unknown role {values['role']!r} (use admin or user)")
        verdict = None
        if values.get("email"):
            try:
                verdict = check_address(values["email"])
            except AddressError as error:
                problems.append(str(error))
        if verdict is not None:
            key = verdict.email.lower()
            if key in seen:
                problems.append(f"{verdict.email} appears again (first on line {seen[key]})")
            else:
                seen[key] = line
        password = values.get("password") or None
        if password is not None and verdict is not None:
            try:
                password = check_password(password, services.config.security, email=verdict.email)
            except PasswordRejected as error:
                problems.append(f"password: {error}")
        if problems:
            report.errors.append(f"line {line}: " + "; ".join(problems) + ".")
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
    if report.errors:
        return report
    hashed = []
    for line, new, password in rows:
        if password is not None:
            new = replace(new, password_hash=await services.hasher.hash_async(password))
        hashed.append((line, new))
    async with services.db.write() as conn:
        taken = await account_store.existing_emails(conn, [new.email for _, new in hashed])
        for line, new in hashed:
            if new.email.lower() in taken:
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


async def set_email(
    services: Services, user_id: int, email: str, *, actor_id: int | None = None
) -> Account:
    """Change a user's sign-in address (checked and its verdict stored)."""
    try:
        verdict = check_address(email)
    except AddressError as error:
        raise AccountError(str(error)) from None
    async with services.db.write() as conn:
        if await account_store.email_taken_by_other(conn, verdict.email, user_id):
            raise AccountError(f"An account with the address {verdict.email} exists already.")
        await account_store.set_email(
            conn, user_id, verdict.email, verdict.deliverable, verdict.problem
        )
        await audit.record(
            conn, services.now(), "user.email_changed", actor_id=actor_id, subject_id=user_id,
            detail=verdict.email,
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
    try:
        checked = check_password(password, services.config.security, email=user.email)
    except PasswordRejected as error:
        raise AccountError(str(error)) from None
    password_hash = await services.hasher.hash_async(checked)
    async with services.db.write() as conn:
        await account_store.set_password_hash(conn, user_id, password_hash)
        # An administrator's new password also unlocks the account: locked, the new password
        # would be refused like the old one.
        fresh = await account_store.user_by_id(conn, user_id)
        cleared = fresh.failed_attempts if fresh is not None else 0
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

