"""Rows of the database as frozen dataclasses (what the query modules return)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from typing import Self


class _FromRow:
    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{key: row[key] for key in row.keys() if key in names})  # noqa: SIM118 (Row iterates values)


@dataclass(frozen=True, slots=True)
class Subscription(_FromRow):
    id: int
    name: str
    mfa_enabled: bool
    allowed_methods: str
    created_at: float

    @property
    def allowed(self) -> tuple[str, ...]:
        """The method kinds users of this subscription may set up, in display order."""
        return tuple(kind for kind in self.allowed_methods.split(",") if kind)


@dataclass(frozen=True, slots=True)
class User(_FromRow):
    id: int
    subscription_id: int
    email: str
    email_deliverable: bool
    email_problem: str | None
    display_name: str
    role: str
    status: str
    password_hash: str
    mfa_required: bool
    last_method_id: int | None
    preferred_method_id: int | None
    failed_attempts: int
    locked_until: float | None
    created_at: float

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class AuditEvent(_FromRow):
    id: int
    at: float
    actor_id: int | None
    subject_id: int | None
    event: str
    detail: str | None


@dataclass(frozen=True, slots=True)
class OutboxMessage(_FromRow):
    id: int
    channel: str
    recipient: str
    subject: str
    body: str | None
    sent_at: float
    error: str | None
