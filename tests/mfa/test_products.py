"""Launching a product: which products open, the environment a product gets, refusals, the audit
rows, remote commands, and a real program run the way home runs it."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from mfa import demo, products
from mfa.config import Config, ProductCommand
from mfa.products import Identity, LaunchRefused
from mfa.services import Services
from mfa.session import Session
from store import accounts as account_store
from store import audit
from tests.tui.helpers import DEMO_USER, seed_demo

LOCKER = "Locker Management Module"

IDENTITY = Identity(
    user_id=7,
    email="jordan.lee@acme-logistics.com",
    name="Jordan Lee",
    role="user",
    subscription="Acme Logistics",
    session_id="0123456789abcdef",
    mfa_verified=True,
)

ENV_WRITER = (
    "import json, os, sys; "
    "json.dump(dict(os.environ), open(sys.argv[1], 'w')); "
    "sys.exit(int(sys.argv[2]))"
)
"""A program that writes its environment (JSON) to the file named by its first argument and
exits with the status in its second."""


def with_products(config: Config, commands: dict[str, list[str]]) -> Config:
    return dataclasses.replace(
        config, products={name: ProductCommand(tuple(argv)) for name, argv in commands.items()}
    )


@pytest.fixture
async def seeded(services: Services) -> Services:
    await seed_demo(services)
    return services


async def signed_in_session(services: Services, email: str = DEMO_USER[0]) -> Session:
    user = await account_store.user_by_email(services.db, email)
    assert user is not None
    return Session.start(user, services.now(), mfa_verified=True)


async def events(services: Services, *names: str) -> list[tuple[str, str | None, int | None]]:
    rows = reversed(await audit.events(services.db))
    return [(row.event, row.detail, row.actor_id) for row in rows if row.event in names]


# ---------------------------------------------------------------------------------- configuration


def test_only_products_with_a_command_open_in_the_subscriptions_order(config: Config) -> None:
    config = with_products(config, {LOCKER: ["/opt/lmm"], "PitneyShip Pro": ["/opt/ship"]})
    assert products.launchable(config, demo.PRODUCTS) == ["PitneyShip Pro", LOCKER]
    assert products.launchable(config, ["PitneyAnalytics"]) == []


# ---------------------------------------------------------------------------------- environment


def test_the_product_gets_the_identity_and_the_rest_of_the_environment(config: Config) -> None:
    base = {"PATH": "/usr/bin", "TERM": "xterm", "LANG": "C.UTF-8", "SSH_CONNECTION": "a b c d"}
    env = products.product_environment(base, IDENTITY, config, LOCKER)
    assert env == {
        **base,
        "MFA_TUI_USER_EMAIL": "jordan.lee@acme-logistics.com",
        "MFA_TUI_USER_NAME": "Jordan Lee",
        "MFA_TUI_USER_ROLE": "user",
        "MFA_TUI_SUBSCRIPTION": "Acme Logistics",
        "MFA_TUI_SESSION_ID": "0123456789abcdef",
        "MFA_TUI_MFA": "verified",
        "MFA_TUI_PRODUCT": LOCKER,
    }


def test_the_gate_names_no_product_and_a_sign_in_without_mfa_says_so(config: Config) -> None:
    identity = dataclasses.replace(IDENTITY, mfa_verified=False)
    env = products.product_environment({}, identity, config)
    assert "MFA_TUI_PRODUCT" not in env
    assert env["MFA_TUI_MFA"] == "not required"


def test_secrets_and_mfa_tuis_own_variables_never_reach_the_product(config: Config) -> None:
    config = config.replace("email", password_env="SMTP_SECRET").replace(
        "sms", http_token_env="SMS_GATEWAY_TOKEN"
    )
    base = {
        "SMTP_SECRET": "hunter2",
        "SMS_GATEWAY_TOKEN": "tok",
        "MFA_TUI_CONFIG": "/etc/mfa-tui/config.toml",
        "MFA_TUI__SECURITY__IDLE_LOCK_SECONDS": "300",
        # Set before anyone signed in: must not pass for the verified identity.
        "MFA_TUI_USER_EMAIL": "boss@acme-logistics.com",
        "MFA_TUI_USER_ROLE": "admin",
        "HOME": "/home/kiosk",
    }
    env = products.product_environment(base, IDENTITY, config, LOCKER)
    assert "SMTP_SECRET" not in env and "SMS_GATEWAY_TOKEN" not in env
    assert "MFA_TUI_CONFIG" not in env and "MFA_TUI__SECURITY__IDLE_LOCK_SECONDS" not in env
    assert env["MFA_TUI_USER_EMAIL"] == IDENTITY.email
    assert env["MFA_TUI_USER_ROLE"] == "user"
    assert env["HOME"] == "/home/kiosk"


# ---------------------------------------------------------------------------------- remote commands


@pytest.mark.parametrize("command", ["scp -t /tmp", "internal-sftp", "ls -la", ""])
def test_a_remote_command_is_refused_with_one_line(config: Config, command: str) -> None:
    refusal = products.remote_command_refusal({"SSH_ORIGINAL_COMMAND": command}, config)
    assert refusal is not None
    assert "\n" not in refusal and "remote commands" in refusal


def test_a_terminal_session_without_a_command_goes_on(config: Config) -> None:
    assert products.remote_command_refusal({"SSH_CONNECTION": "x"}, config) is None


def test_a_setting_lets_remote_commands_through(config: Config) -> None:
    allowing = config.replace("session", allow_remote_command=True)
    assert products.remote_command_refusal({"SSH_ORIGINAL_COMMAND": "ls"}, allowing) is None


# ---------------------------------------------------------------------------------- launching


async def test_a_signed_in_user_launches_a_product_of_their_subscription(
    seeded: Services,
) -> None:
    seeded.config = with_products(seeded.config, {LOCKER: ["/opt/lmm/bin/lmm", "--kiosk"]})
    session = await signed_in_session(seeded)
    launch = await products.product_launch(seeded, session, LOCKER, {"PATH": "/usr/bin"})
    assert launch.argv == ("/opt/lmm/bin/lmm", "--kiosk")
    assert launch.label == LOCKER
    assert launch.env["MFA_TUI_USER_EMAIL"] == DEMO_USER[0]
    assert launch.env["MFA_TUI_USER_NAME"] == "Jordan Lee"
    assert launch.env["MFA_TUI_SUBSCRIPTION"] == demo.SUBSCRIPTION
    assert launch.env["MFA_TUI_SESSION_ID"] == session.id
    assert launch.env["MFA_TUI_MFA"] == "verified"
    assert launch.env["PATH"] == "/usr/bin"


async def test_nothing_launches_before_a_complete_sign_in(seeded: Services) -> None:
    seeded.config = with_products(seeded.config, {LOCKER: ["/opt/lmm"]})
    session = await signed_in_session(seeded)
    session.signed_in = False  # the password was right; the second factor is still to come
    with pytest.raises(LaunchRefused, match="Finish signing in first"):
        await products.product_launch(seeded, session, LOCKER, {})


async def test_a_product_without_a_command_or_outside_the_subscription_is_refused(
    seeded: Services,
) -> None:
    seeded.config = with_products(seeded.config, {"Somebody Else's Product": ["/opt/other"]})
    session = await signed_in_session(seeded)
    with pytest.raises(LaunchRefused, match="has no program to start"):
        await products.product_launch(seeded, session, LOCKER, {})
    with pytest.raises(LaunchRefused, match="is not part of your subscription"):
        await products.product_launch(seeded, session, "Somebody Else's Product", {})


async def test_an_account_disabled_since_the_sign_in_launches_nothing(seeded: Services) -> None:
    seeded.config = with_products(seeded.config, {LOCKER: ["/opt/lmm"]})
    session = await signed_in_session(seeded)
    async with seeded.db.write() as conn:
        await conn.execute("UPDATE users SET status = 'disabled' WHERE id = ?", (session.user.id,))
    with pytest.raises(LaunchRefused, match="no longer active"):
        await products.product_launch(seeded, session, LOCKER, {})


async def test_the_gate_launches_its_command_with_the_identity(seeded: Services) -> None:
    session = await signed_in_session(seeded)
    identity = await products.identity_for(seeded, session)
    launch = products.gate_launch(identity, ["lmm", "--kiosk"], {"PATH": "/bin"}, seeded.config)
    assert (launch.label, launch.argv) == ("gate", ("lmm", "--kiosk"))
    assert launch.env["MFA_TUI_USER_EMAIL"] == DEMO_USER[0]
    with pytest.raises(LaunchRefused):
        products.gate_launch(identity, [], {}, seeded.config)


# ---------------------------------------------------------------------------------- audit


async def test_start_exit_and_failure_are_audited_with_the_session(seeded: Services) -> None:
    seeded.config = with_products(seeded.config, {LOCKER: ["/opt/lmm/bin/lmm", "--site", "A 1"]})
    session = await signed_in_session(seeded)
    launch = await products.product_launch(seeded, session, LOCKER, {})
    await products.record_launch(seeded, launch)
    await products.record_exit(seeded, launch, 3)
    await products.record_exit(seeded, launch, -15)
    await products.record_failure(seeded, launch, FileNotFoundError(2, "No such file or directory"))
    about = f"{LOCKER} (session {session.id})"
    user_id = session.user.id
    assert await events(seeded, "product.launched", "product.exited", "product.failed") == [
        ("product.launched", f"{about}: /opt/lmm/bin/lmm --site 'A 1'", user_id),
        ("product.exited", f"{about}: exit status 3", user_id),
        ("product.exited", f"{about}: ended by SIGTERM", user_id),
        ("product.failed", f"{about}: couldn't start: No such file or directory", user_id),
    ]


def test_exit_statuses_in_words() -> None:
    assert products.exit_words(0) == "exit status 0"
    assert products.exit_words(127) == "exit status 127"
    assert products.exit_words(-9) == "ended by SIGKILL"


# ---------------------------------------------------------------------------------- running


async def test_a_real_program_runs_with_the_environment_and_its_status_comes_back(
    seeded: Services, tmp_path: Path
) -> None:
    out = tmp_path / "env.json"
    command = [sys.executable, "-c", ENV_WRITER, str(out), "3"]
    seeded.config = with_products(seeded.config, {LOCKER: command})
    session = await signed_in_session(seeded)
    launch = await products.product_launch(
        seeded, session, LOCKER, {"PATH": "/usr/bin:/bin", "MFA_TUI_CONFIG": "/etc/x"}
    )
    assert await products.run_in_terminal(launch) == 3
    seen = json.loads(out.read_text())
    assert seen["MFA_TUI_USER_EMAIL"] == DEMO_USER[0]
    assert seen["MFA_TUI_SESSION_ID"] == session.id
    assert seen["MFA_TUI_PRODUCT"] == LOCKER
    assert "MFA_TUI_CONFIG" not in seen


async def test_a_program_that_does_not_exist_raises_os_error(
    seeded: Services, tmp_path: Path
) -> None:
    seeded.config = with_products(seeded.config, {LOCKER: [str(tmp_path / "missing")]})
    launch = await products.product_launch(seeded, await signed_in_session(seeded), LOCKER, {})
    with pytest.raises(FileNotFoundError):
        await products.run_in_terminal(launch)
