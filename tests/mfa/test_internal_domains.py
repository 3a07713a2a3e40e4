"""Internal mail domains: special-use names a company mail server delivers, and re-checked verdicts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from mfa import accounts, address_recheck, mfa_process, sending
from mfa.addresses import check_address
from mfa.clock import ManualClock
from mfa.config import Config, ConfigError, build_config
from mfa.services import Services, open_services
from store import accounts as account_store
from store import audit
from tests.smtp_server import SmtpSink

KIOSK = "jordan@kiosk.test"
CORP = "sam@mail.corp.local"
EXE = shutil.which("mfa-tui", path=str(Path(sys.executable).parent)) or "mfa-tui"


@asynccontextmanager
async def opened(
    config: Config, clock: ManualClock, domains: tuple[str, ...], sink: SmtpSink | None = None
) -> AsyncIterator[Services]:
    """Services over the same database, as a process started with ``internal_domains``."""
    config = config.replace("email", internal_domains=domains)
    if sink is not None:
        config = config.replace(
            "email", host=sink.host, port=sink.port, tls="none", timeout_seconds=5.0
        )
    services = await open_services(config, clock=clock)
    try:
        yield services
    finally:
        await services.close()


async def add(services: Services, email: str) -> None:
    subscription = await account_store.subscription_by_name(services.db, "Acme")
    if subscription is None:
        await accounts.create_subscription(services, "Acme", ["Lockers"])
        subscription = await account_store.subscription_by_name(services.db, "Acme")
    assert subscription is not None
    await accounts.add_user(services, subscription, email, "Someone", "user", None)


async def verdict(services: Services, email: str) -> tuple[bool, str | None]:
    user = await account_store.user_by_email(services.db, email)
    assert user is not None
    return bool(user.email_deliverable), user.email_problem


# ------------------------------------------------------------------------------------- the verdict


def test_a_special_use_domain_is_refused_with_the_setting_named() -> None:
    found = check_address(KIOSK)
    assert not found.deliverable
    assert found.problem is not None
    assert "kiosk.test is a special-use domain" in found.problem
    assert "email.internal_domains" in found.problem


@pytest.mark.parametrize(
    ("address", "deliverable"),
    [
        (KIOSK, True),
        ("Jordan@KIOSK.test", True),
        (CORP, True),  # a host under an internal domain
        ("sam@corp.local", True),
        ("sam@other.local", False),  # .local, but not the one listed
        ("sam..lee@corp.local", False),  # the local part is still judged
        ("sam@-mail.corp.local", False),  # and the labels in front of the internal name
        ("ops@plant7", False),
    ],
)
def test_internal_domains_are_deliverable(address: str, deliverable: bool) -> None:
    found = check_address(address, ("kiosk.test", "corp.local"))
    assert found.deliverable is deliverable, found.problem
    assert found.email.endswith(address.rpartition("@")[2].lower())


def test_the_setting_is_read_normalised_and_checked() -> None:
    config = build_config({"email": {"internal_domains": ["Corp.Local.", "@kiosk.test"]}}, "f", {})
    assert config.email.internal_domains == ("corp.local", "kiosk.test")
    from_env = build_config({}, "f", {"MFA_TUI__EMAIL__INTERNAL_DOMAINS": "corp.local, x.test"})
    assert from_env.email.internal_domains == ("corp.local", "x.test")
    with pytest.raises(ConfigError, match=r"email\.internal_domains: 'not a domain'"):
        build_config({"email": {"internal_domains": ["not a domain"]}}, "f", {})
    with pytest.raises(ConfigError, match=r"email\.internal_domains must be a list"):
        build_config({"email": {"internal_domains": "corp.local"}}, "f", {})


# ------------------------------------------------------------------- sending with the new setting


async def test_a_new_setting_lets_the_code_go_at_once(config: Config, clock: ManualClock) -> None:
    async with SmtpSink() as sink:
        async with opened(config, clock, (), sink) as before:
            await add(before, KIOSK)
            user = await account_store.user_by_email(before.db, KIOSK)
            assert user is not None
            refused = await sending.start_email_setup(before, user)
            assert refused.status == "undeliverable"
            assert refused.message.startswith("Codes can't be sent to your address j***@kiosk.test:")
            assert KIOSK not in refused.message
        async with opened(config, clock, ("kiosk.test",), sink) as after:
            sent = await sending.start_email_setup(after, user)
            assert sent.ok, sent.message
            assert await verdict(after, KIOSK) == (True, None)
    assert [m["To"] for m in sink.messages] == [KIOSK]


# ---------------------------------------------------------------- re-checking the stored verdicts


async def test_the_next_mfa_process_rechecks_when_the_setting_changed(
    config: Config, clock: ManualClock
) -> None:
    async with opened(config, clock, ()) as before:
        await add(before, KIOSK)
        await add(before, CORP)
        await add(before, "ops@plant7")
        assert (await verdict(before, CORP))[0] is False
        subscription_id = (await account_store.subscription_by_name(before.db, "Acme")).id

    async with opened(config, clock, ("corp.local", "kiosk.test")) as after:
        job, started = await mfa_process.begin(after, subscription_id)
        assert started
        final = await mfa_process.follow(after, job.job_id)
        assert (final.succeeded, final.failed) == (2, 1)
        failed = await mfa_process.failed_users(after, job.job_id)
        assert [user.email for user in failed] == ["ops@plant7"]
        assert await verdict(after, CORP) == (True, None)
        # Judged with this setting now: nothing more to do until it changes again.
        assert await address_recheck.recheck_if_changed(after) is None
        events = [event.event for event in await audit.events(after.db, None)]
        assert "email.verdicts_rechecked" in events

    async with opened(config, clock, ("kiosk.test",)) as narrower:
        report = await address_recheck.recheck_if_changed(narrower)
        assert report is not None
        assert report.now_deliverable == []
        assert [line.split(":")[0] for line in report.now_undeliverable] == [CORP]
        assert (await verdict(narrower, CORP))[0] is False
        assert await verdict(narrower, KIOSK) == (True, None)


async def test_retry_after_the_setting_changed_passes_the_users(
    config: Config, clock: ManualClock
) -> None:
    async with opened(config, clock, ()) as before:
        await add(before, KIOSK)
        subscription_id = (await account_store.subscription_by_name(before.db, "Acme")).id
        job, _ = await mfa_process.begin(before, subscription_id)
        assert (await mfa_process.follow(before, job.job_id)).failed == 1

    async with opened(config, clock, ("kiosk.test",)) as after:
        retried = await mfa_process.retry(after, subscription_id)
        assert retried is not None
        final = await mfa_process.follow(after, retried[0].job_id)
        assert (final.succeeded, final.failed) == (1, 0)


def test_admin_users_recheck_email(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    env = {**os.environ, "MFA_TUI_CONFIG": ""}

    def run(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [EXE, "--db", str(db), "admin", *args],
            input=stdin, capture_output=True, text=True, env={**env, **extra}, timeout=60,
        )  # fmt: skip

    created = run(
        "init", "--subscription", "Acme", "--email", "boss@corp.local",
        stdin="a sturdy admin passphrase\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = run("users", "list")
    assert "corp.local is a special-use domain" in listed.stdout

    rechecked = run("users", "recheck-email", MFA_TUI__EMAIL__INTERNAL_DOMAINS="corp.local")
    assert rechecked.returncode == 0, rechecked.stderr
    assert "boss@corp.local: can receive codes now" in rechecked.stdout
    assert (
        "Checked 1 address(es) with email.internal_domains = corp.local: 1 can receive codes now, "
        "0 no longer can." in rechecked.stdout
    )
    listed = run("users", "list")
    assert listed.stdout.splitlines()[1].endswith("\t")  # no problem recorded any more
