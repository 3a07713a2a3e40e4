"""Durations and waits in words: the one place that says "30 seconds", "4:05" or "3 minutes ago".

Each function has its own rounding because each answers a different question: a wait is rounded up
(nobody is told to try again a second too early), a configured duration is said exactly, a button's
countdown is a clock. The sentences about waiting that both the domain and the screens show (the
lock after too many failures, the wait before another code) are here too, so they can't drift
apart. Nothing here reads the clock: callers pass the seconds.
"""

from __future__ import annotations

import math


def counted(amount: int, unit: str) -> str:
    """``amount`` of ``unit``, in the singular for one: ``1 event``, ``1,200 events``."""
    return f"{amount:,} {unit}" if amount == 1 else f"{amount:,} {unit}s"


def describe_wait(seconds: float) -> str:
    """A wait in words, rounded up: ``30 seconds``, ``1 minute``, ``7 minutes``, ``2 hours``."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return counted(whole, "second")
    if whole < 3600:
        return counted(math.ceil(whole / 60), "minute")
    return counted(math.ceil(whole / 3600), "hour")


def duration_words(seconds: float) -> str:
    """A configured duration, exactly: ``900`` -> "15 minutes", ``43200`` -> "12 hours",
    ``90`` -> "90 seconds"."""
    whole = round(seconds)
    for size, unit in ((3600, "hour"), (60, "minute")):
        if whole >= size and whole % size == 0:
            return counted(whole // size, unit)
    return counted(whole, "second")


def seconds_words(value: float) -> str:
    """A time limit in seconds as configured, fractions kept: ``1 second``, ``2.5 seconds``."""
    return "1 second" if value == 1 else f"{value:g} seconds"


def countdown_words(seconds: float) -> str:
    """A short countdown for a button: ``25 s``, ``4:05``, ``1:00:00`` (rounded up)."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def elapsed_words(elapsed: float) -> str:
    """How long ago, rounded down: ``Just now``, ``1 minute ago``, ``3 hours ago``, ``2 days ago``."""
    elapsed = max(0.0, elapsed)
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if elapsed >= size:
            return f"{counted(int(elapsed // size), unit)} ago"
    return "Just now"


def clause(text: str) -> str:
    """``text`` without its closing full stop, to go inside a sentence that ends with its own.

    Messages (refusals, errors) are whole sentences; put into another sentence ("line 3: ...;
    ...", "That didn't work: ... Try again.") they would end in two full stops. An ellipsis stays.
    """
    text = text.rstrip()
    if text.endswith(".") and not text.endswith(".."):
        return text[:-1]
    return text


def count_words(amount: int) -> str:
    """A count as every screen and command writes it: ``300,001``."""
    return f"{amount:,}"


def wait_note(wait: float) -> str:
    """A wait for the audit log (short, exact): ``30 s to wait``, or the permanent lock."""
    if not math.isfinite(wait):
        return "until an administrator unlocks it"
    return f"{math.ceil(wait)} s to wait"


def lock_sentence(wait: float) -> str:
    """What an account that has to wait after too many failures is told (passwords and codes).

    ``wait`` is in seconds; ``math.inf`` means only an administrator can unlock the account.
    """
    if not math.isfinite(wait):
        return (
            "This account is locked after too many failed attempts. Ask an administrator to "
            "unlock it."
        )
    return f"Too many failed attempts: try again in {describe_wait(wait)}."


def last_code_sentence(seconds: float) -> str:
    """After the send that used up the send limit: when the next code can come.

    The wait is the Resend button's countdown (:func:`countdown_words`), so the sentence and the
    button beside it say the same ("10:04", not "11 minutes" beside "(10:04)").
    """
    return (
        "That was the last code you can ask for now: you can ask for another in "
        f"{countdown_words(seconds)}."
    )


def resend_wait_sentence(seconds: float) -> str:
    """The wait before another code may be sent (the resend cooldown)."""
    return f"You can ask for another code in {describe_wait(seconds)}."
