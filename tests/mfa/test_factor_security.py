"""Changing a factor is as hard as using one: re-authentication, security notices, codes bound to
their sign-in attempt, an admin's address change, and users the MFA process failed staying
required. Real SQLite files, a real SMTP server, a ManualClock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from mfa import (
    accounts,
    admin_users,
    factors,
    mfa_process,
    notices,
    reauth,
    recovery,
    sending,
    totp,
)
from mfa import session as sessions
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.notices import NoticeKind
from mfa.reauth import ReauthRequired
from mfa.services import Services
from mfa.session import Session, SessionEnd
from mfa.signin import SignInOutcome, sign_in
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import (
    ATTEMPT,
    MOBILE_E164,
    OTHER_MOBILE,
    granted,
    live_code_from_the_key,
    mailed_codes,
    make_user,
    reload,
    services_for,
    set_up_email,
    set_up_sms,
    texted_code,
)
from tests.mfa.totp_helpers import key_of, reference_code
from tests.smtp_server import SmtpSink, unused_port

PASSWORD = "correct horse battery"
EMAIL = "jordan.lee@example.com"


@pytest.fixture
async def sink() -> AsyncIterator[SmtpSink]:
    async with SmtpSink() as running:
        yield running


@pytest.fixture
async def demo(config: Config, clock: ManualClock, sink: SmtpSink) -> AsyncIterator[Services]:
    """Services in demo mode (texts kept in the outbox), email through the sink."""
    async with services_for(config, clock, sink=sink, demo=True) as opened:
        yield opened


async def user_with_password(services: Services, email: str = EMAIL) -> User:
    user = await make_user(services, email)
    await accounts.set_password(services, user.id, PASSWORD)
    return await reload(services, user)


async def events_of(services: Services, user: User) -> list[tuple[str, str | None]]:
    return [(e.event, e.detail) for e in reversed(await audit.events(services.db, user.id))]


def notices_to(sink: SmtpSink, address: str) -> list[str]:
    """The subjects of the security notices ``address`` received, oldest first."""
    return [
        str(mail["Subject"])
        for mail in sink.messages_to(address)
        if mail["Subject"] != "Your verification code"
    ]


async def step_up_with_a_code(services: Services, user: User, attempt: str = ATTEMPT) -> None:
    """Re-authenticate as the user would: a code to the default method, then password and code."""
    method = await factors.default_method(services, user)
    assert method is not None
    services.clock.advance(31)  # type: ignore[attr-defined]
    sent = await sending.send_step_up_code(services, user, method.id, attempt=attempt)
    assert sent.ok, sent.message
    code = await live_code_from_the_key(services, user)
    granted_now = await reauth.step_up(services, user, attempt, PASSWORD, code)
    assert granted_now.ok, granted_now.message


# ------------------------------------------------------------------------ re-authentication


async def test_without_re_authentication_no_method_changes(demo: Services, sink: SmtpSink) -> None:
    user = await user_with_password(demo)
    sms = await set_up_sms(demo, user)
    demo.clock.advance(600)  # type: ignore[attr-defined]  # the grant set_up_sms used is over
    other = "another-terminal"
    with pytest.raises(ReauthRequired):
        await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=other)
    with pytest.raises(ReauthRequired):
        await sending.start_email_setup(demo, user, attempt=other)
    with pytest.raises(ReauthRequired):
        await factors.set_preferred(demo, user, sms.id, attempt=other)
    with pytest.raises(ReauthRequired):
        await factors.remove_method(demo, user, sms.id, attempt=other)
    [still] = await factors.methods_of(demo, user.id)
    assert (still.destination, still.verified) == (MOBILE_E164, True)
    assert (await reload(demo, user)).preferred_method_id is None


async def test_the_password_alone_is_not_enough_when_a_method_exists(demo: Services) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    attempt = reauth.new_attempt_id()
    assert await reauth.needs_code(demo, user)

    wrong = await reauth.step_up(demo, user, attempt, "not my password", "")
    assert not wrong.ok and wrong.message == reauth.PASSWORD_WRONG
    no_code = await reauth.step_up(demo, user, attempt, PASSWORD, "")
    assert not no_code.ok and no_code.code_result is not None
    assert no_code.code_result.status == "malformed"
    assert await reauth.grant_until(demo, user, attempt) is None
    with pytest.raises(ReauthRequired):
        await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=attempt)

    await step_up_with_a_code(demo, user, attempt)
    until = await reauth.grant_until(demo, user, attempt)
    assert until == demo.now() + demo.config.security.step_up_seconds
    events = await events_of(demo, user)
    assert ("reauth.failed", "wrong password") in events
    assert ("mfa.code_rejected", "step-up: malformed") in events
    assert ("reauth.granted", "password and code") in events
    # A wrong password counts in the account's failure throttle like a wrong sign-in.
    assert (await reload(demo, user)).failed_attempts == 0  # cleared by the right code


async def test_a_grant_allows_changes_for_five_minutes_then_asks_again(
    demo: Services, clock: ManualClock
) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    attempt = reauth.new_attempt_id()
    await step_up_with_a_code(demo, user, attempt)
    clock.advance(31)
    sent = await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=attempt)
    assert sent.ok, sent.message
    clock.advance(demo.config.security.step_up_seconds)
    with pytest.raises(ReauthRequired):
        await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=attempt)


async def test_a_step_up_code_works_only_in_the_attempt_that_asked_for_it(demo: Services) -> None:
    user = await user_with_password(demo)
    sms = await set_up_sms(demo, user)
    demo.clock.advance(31)  # type: ignore[attr-defined]
    mine, theirs = reauth.new_attempt_id(), reauth.new_attempt_id()
    assert (await sending.send_step_up_code(demo, user, sms.id, attempt=mine)).ok
    code = await texted_code(demo)
    stolen = await reauth.step_up(demo, user, theirs, PASSWORD, code)
    assert not stolen.ok and stolen.code_result is not None
    assert stolen.code_result.status == "no_code"
    assert (await reauth.step_up(demo, user, mine, PASSWORD, code)).ok


async def test_without_a_method_the_password_is_the_existing_level(demo: Services) -> None:
    user = await user_with_password(demo)
    await account_store_not_required(demo, user)
    attempt = reauth.new_attempt_id()
    assert not await reauth.needs_code(demo, user)
    result = await reauth.step_up(demo, user, attempt, PASSWORD)
    assert result.ok
    assert (await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=attempt)).ok


async def account_store_not_required(services: Services, user: User) -> None:
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET mfa_required = 0 WHERE id = ?", (user.id,))


async def test_a_sign_in_that_needs_setup_may_set_up_and_the_grant_ends_with_home(
    demo: Services, sink: SmtpSink
) -> None:
    user = await user_with_password(demo)
    await demo_mfa_on(demo)
    result = await sign_in(demo, EMAIL, PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_SETUP and result.attempt_id
    attempt = result.attempt_id
    assert (await sending.start_email_setup(demo, user, attempt=attempt)).ok
    code = mailed_codes(sink, EMAIL)[-1]
    assert (await factors.confirm_setup(demo, user, "email", code, attempt=attempt)).ok
    # Home: the setup grant is over; the Security page asks again.
    assert result.user is not None
    session = Session.start(result.user, demo.now(), attempt_id=attempt)
    await sessions.record_start(demo, session)
    assert await reauth.grant_until(demo, user, attempt) is None


async def test_a_sign_in_with_a_method_gets_no_grant(demo: Services) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    await demo_mfa_on(demo)
    result = await sign_in(demo, EMAIL, PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_VERIFICATION
    assert await reauth.grant_until(demo, user, result.attempt_id) is None
    with pytest.raises(ReauthRequired):
        await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=result.attempt_id)


async def test_a_grant_ends_with_its_session(demo: Services) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    account = accounts.Account.of(user)
    session = Session.start(account, demo.now())
    await step_up_with_a_code(demo, user, session.attempt_id)
    await sessions.record_end(demo, session, SessionEnd.IDLE)
    assert await reauth.grant_until(demo, user, session.attempt_id) is None


async def demo_mfa_on(services: Services) -> None:
    async with services.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET mfa_enabled = 1")


# ---------------------------------------------------------------------------------- notices


async def test_a_changed_number_tells_the_address_and_the_old_number(
    demo: Services, sink: SmtpSink
) -> None:
    user = await user_with_password(demo)
    await set_up_email(demo, user, sink)
    demo.clock.advance(31)  # type: ignore[attr-defined]
    await set_up_sms(demo, user)
    assert notices_to(sink, EMAIL) == [
        "A verification method was added to your account",
        "A verification method was added to your account",
    ]
    await step_up_with_a_code(demo, user)
    demo.clock.advance(31)  # type: ignore[attr-defined]
    assert (await sending.start_sms_setup(demo, user, OTHER_MOBILE, attempt=ATTEMPT)).ok
    changed = await factors.confirm_setup(
        demo, user, "sms", await texted_code(demo), attempt=ATTEMPT
    )
    assert changed.ok
    assert notices_to(sink, EMAIL)[-1] == "A verification method of your account was changed"
    texts = [m for m in await audit.outbox(demo.db) if m.channel == "sms"]
    assert texts[0].recipient == MOBILE_E164  # the old number, newest first
    assert texts[0].body is not None and "Security notice" in texts[0].body
    for mail in sink.messages_to(EMAIL):
        if mail["Subject"] != "Your verification code":
            assert not re.search(r"\b\d{6}\b", mail.get_content()), "a notice carries a code"


async def test_an_added_email_is_also_texted_to_the_number_set_up_before(
    demo: Services, sink: SmtpSink
) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    demo.clock.advance(31)  # type: ignore[attr-defined]
    await set_up_email(demo, user, sink)
    assert notices_to(sink, EMAIL) == [
        "A verification method was added to your account",
        "A verification method was added to your account",
    ]
    [newest_text, *_] = [m for m in await audit.outbox(demo.db) if m.channel == "sms"]
    assert newest_text.recipient == MOBILE_E164
    assert newest_text.body is not None and "a new way to receive" in newest_text.body


async def test_a_removed_method_is_told_and_a_failed_notice_blocks_nothing(
    config: Config, clock: ManualClock
) -> None:
    async with SmtpSink() as sink, services_for(config, clock, sink=sink, demo=True) as demo:
        user = await user_with_password(demo)
        email = await set_up_email(demo, user, sink)
        clock.advance(31)
        await set_up_sms(demo, user)
    # The mail server is gone now: the removal still happens; the notice failure is audited.
    async with services_for(config, clock, smtp_port=unused_port(), demo=True) as down:
        await granted(down, user)
        await factors.remove_method(down, user, email.id, attempt=ATTEMPT)
        assert [m.kind for m in await factors.methods_of(down, user.id)] == ["sms"]
        events = await events_of(down, user)
        assert events[-1][0] == "notice.failed"
        assert events[-1][1] is not None and events[-1][1].startswith("method removed: email")


@pytest.mark.parametrize("kind", list(NoticeKind))
async def test_every_kind_of_notice_reaches_the_address_without_a_code(
    demo: Services, sink: SmtpSink, kind: NoticeKind
) -> None:
    user = await user_with_password(demo)
    report = await notices.notify(
        demo, user.id, kind, actor_id=None, method="SMS (+1 ***-***-0100)",
        old_address=EMAIL, remaining=7,
    )  # fmt: skip
    assert report.sent == ["email"] and not report.failed
    [mail] = sink.messages_to(EMAIL)
    assert mail["Subject"] == notices.notice_text(kind)[0]
    assert not re.search(r"\b\d{6}\b", mail.get_content())
    [logged] = await audit.outbox(demo.db)  # the Demo inbox reads it
    assert logged.body is not None and "contains no code" in logged.body
    assert (await events_of(demo, user))[-1] == (
        "notice.sent",
        f"{kind.value}: email j***@example.com",
    )


async def test_no_notice_goes_to_an_address_that_cannot_receive_mail(
    demo: Services, sink: SmtpSink
) -> None:
    user = await make_user(demo, "ops@plant7")
    report = await notices.notify(demo, user.id, NoticeKind.MFA_RESET)
    assert report.sent == [] and report.skipped
    assert sink.messages == []
    assert (await events_of(demo, user))[-1][0] == "notice.skipped"


# ------------------------------------------------------------------ an admin's address change


async def test_an_admin_address_change_unverifies_email_and_tells_the_old_address(
    demo: Services, sink: SmtpSink
) -> None:
    user = await user_with_password(demo)
    await set_up_email(demo, user, sink)
    await demo_mfa_on(demo)
    await accounts.set_email(demo, user.id, "jordan@new.example", actor_id=None)
    [email] = await factors.methods_of(demo, user.id)
    assert (email.kind, email.verified, email.destination) == ("email", False, "jordan@new.example")
    assert notices_to(sink, EMAIL)[-1] == "The email address of your account was changed"
    assert sink.messages_to("jordan@new.example") == []
    # The next sign-in: no verified method left, so the new address is proven by setting up again.
    result = await sign_in(demo, "jordan@new.example", PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_SETUP
    assert ("mfa.method_unverified", "email: the address changed") in await events_of(demo, user)


async def test_after_an_address_change_another_method_verifies_the_sign_in(
    demo: Services, sink: SmtpSink
) -> None:
    user = await user_with_password(demo)
    await set_up_email(demo, user, sink)
    demo.clock.advance(31)  # type: ignore[attr-defined]
    await set_up_sms(demo, user)
    await demo_mfa_on(demo)
    await accounts.set_email(demo, user.id, "jordan@new.example")
    result = await sign_in(demo, "jordan@new.example", PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_VERIFICATION
    assert result.user is not None
    assert [m.kind for m in await factors.sign_in_methods(demo, result.user)] == ["sms"]


# ----------------------------------------------------------- codes bound to their attempt


async def test_a_sign_in_code_works_only_in_the_attempt_that_asked_for_it(
    demo: Services,
) -> None:
    user = await user_with_password(demo)
    sms = await set_up_sms(demo, user)
    await demo_mfa_on(demo)
    first = await sign_in(demo, EMAIL, PASSWORD)
    second = await sign_in(demo, EMAIL, PASSWORD)
    demo.clock.advance(31)  # type: ignore[attr-defined]
    assert (await sending.send_sign_in_code(demo, user, sms.id, attempt=first.attempt_id)).ok
    code = await texted_code(demo)
    elsewhere = await factors.verify_sign_in(demo, user, code, attempt=second.attempt_id)
    assert not elsewhere.ok and elsewhere.status == "no_code"
    assert (await factors.verify_sign_in(demo, user, code, attempt=first.attempt_id)).ok
    assert ("mfa.code_rejected", "sign-in: no_code") in await events_of(demo, user)


async def test_a_malformed_code_is_audited(demo: Services) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    refused = await factors.verify_sign_in(demo, user, "12ab", attempt=ATTEMPT)
    assert refused.status == "malformed"
    assert ("mfa.code_rejected", "sign-in: malformed") in await events_of(demo, user)


# ----------------------------------------------------- users the MFA process failed


async def test_a_user_the_process_failed_is_still_required_and_offered_sms_only(
    demo: Services,
) -> None:
    user = await make_user(demo, "ops@plant7", mfa_required=False)
    await accounts.set_password(demo, user.id, PASSWORD)
    subscription = await account_store.subscription_by_name(demo.db, "Acme")
    assert subscription is not None
    job, _ = await mfa_process.begin(demo, subscription.id)
    final = await mfa_process.follow(demo, job.job_id)
    assert (final.succeeded, final.failed) == (0, 1)
    assert (await reload(demo, user)).mfa_required
    # `admin users list` says how they go on.
    [listed] = await admin_users.user_summaries(demo, subscription.id)
    assert listed.mfa_required and listed.methods_text == admin_users.NOT_SET_UP_NO_EMAIL
    result = await sign_in(demo, "ops@plant7", PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_SETUP  # never a password alone
    assert result.user is not None
    choice = await factors.setup_choice(demo, result.user)
    assert choice.kinds == ("sms",)
    assert choice.email_note == (
        "Codes can't be sent to your address o***@plant7: email address has no domain. "
        "Set up SMS instead, or ask an administrator to correct your address."
    )


# ------------------------------------------------------------------ the authenticator app


async def test_an_app_needs_the_grant_and_its_code_re_authenticates_once(
    demo: Services, clock: ManualClock, sink: SmtpSink
) -> None:
    user = await make_user(demo, allowed="email,sms,totp")
    await accounts.set_password(demo, user.id, PASSWORD)
    attempt = reauth.new_attempt_id()
    with pytest.raises(ReauthRequired):
        await totp.start_totp_setup(demo, user.id, attempt=attempt)
    started = await totp.start_totp_setup(demo, user.id, attempt=await granted(demo, user.id))
    assert started.ok and started.key_groups is not None
    key = key_of(started.key_groups.replace(" ", ""))
    assert (await totp.confirm_totp_setup(demo, user.id, reference_code(key, clock.now()))).ok
    assert notices_to(sink, EMAIL) == ["A verification method was added to your account"]

    clock.advance(60)
    code = reference_code(key, clock.now())
    assert not (await reauth.step_up(demo, user, attempt, "wrong", code, app=True)).ok
    assert (await reauth.step_up(demo, user, attempt, PASSWORD, code, app=True)).ok
    # The app's step is used up: the same code doesn't re-authenticate another attempt.
    again = await reauth.step_up(demo, user, reauth.new_attempt_id(), PASSWORD, code, app=True)
    assert not again.ok and again.code_result is not None
    assert again.code_result.status == "replayed"


# ------------------------------------------------------- recovery codes and an admin's reset


async def test_recovery_codes_need_the_grant_and_each_use_and_reset_is_told(
    demo: Services, sink: SmtpSink
) -> None:
    user = await user_with_password(demo)
    await set_up_sms(demo, user)
    account = accounts.Account.of(user)
    codes = await recovery.issue_first_set(demo, account)
    assert codes is not None
    with pytest.raises(ReauthRequired):
        await recovery.new_set(demo, account, attempt=reauth.new_attempt_id())
    new = await recovery.new_set(demo, account, attempt=await granted(demo, user))
    assert (await recovery.use_recovery_code(demo, account, new[0])).ok
    malformed = await recovery.use_recovery_code(demo, account, "12")
    assert malformed.status == "malformed"
    await admin_users.reset_mfa(demo, user.id)
    assert notices_to(sink, EMAIL)[-3:] == [
        "Your recovery codes were replaced",
        "A recovery code was used to sign in",
        "Multi-factor authentication was reset for your account",
    ]
    used_notice = " ".join(sink.messages_to(EMAIL)[-2].get_content().split())
    assert "You have 9 recovery codes left." in used_notice
    assert ("mfa.code_rejected", "sign-in: recovery code malformed") in await events_of(demo, user)
    assert await reauth.grant_until(demo, user, ATTEMPT) is None  # the reset ended the grant
