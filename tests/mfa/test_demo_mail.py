"""The demo's embedded mail server: real SMTP from our EmailSender arrives there, and the demo
configuration points email at it and text messages at the outbox."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from mfa import factors, sending
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.delivery import DeliveryError, Message
from mfa.delivery.email import EmailSender
from mfa.demo_mail import DemoMailSink, demo_config
from mfa.services import Services, open_services
from store import audit
from tests.mfa.factor_helpers import make_user


@pytest.fixture
async def sink() -> AsyncIterator[DemoMailSink]:
    running = await asyncio.to_thread(DemoMailSink().start)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


@pytest.fixture
async def demo_services(
    config: Config, clock: ManualClock, sink: DemoMailSink
) -> AsyncIterator[Services]:
    opened = await open_services(demo_config(config, sink), clock=clock, demo=True)
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_demo_configuration_points_email_at_the_sink_and_sms_at_the_outbox(
    config: Config, sink: DemoMailSink
) -> None:
    configured = config.replace(
        "email", host="smtp.example.com", port=587, tls="starttls", username="mailer"
    ).replace("sms", provider="http", http_url="https://sms.example.com/send")
    demo = demo_config(configured, sink)
    assert (demo.email.host, demo.email.port, demo.email.tls) == ("127.0.0.1", sink.port, "none")
    assert demo.email.username == ""  # the demo server asks for no password
    assert demo.sms.provider == "outbox"
    assert sink.port > 0
    # Everything else is left as it was.
    assert demo.security == configured.security
    assert demo.database == configured.database
    assert demo.email.from_address == configured.email.from_address


async def test_our_email_sender_delivers_real_smtp_to_the_sink(
    config: Config, sink: DemoMailSink
) -> None:
    sender = EmailSender(demo_config(config, sink).email)
    await sender.send(Message("email", "jordan.lee@example.com", "Your code", "It is 123456."))
    await sender.send(Message("email", "anyone@anywhere.test", "Second", "Any recipient."))
    assert sink.received == 2
    first, second = sink.latest
    assert first.recipients == ("jordan.lee@example.com",)
    assert first.mail_from == config.email.from_address
    assert first.message["Subject"] == "Your code"
    assert first.message.get_content().strip() == "It is 123456."
    assert second.recipients == ("anyone@anywhere.test",)


async def test_a_demo_code_travels_over_smtp_and_lands_in_the_outbox_with_its_body(
    demo_services: Services, sink: DemoMailSink
) -> None:
    user = await make_user(demo_services)
    sent = await sending.start_email_setup(demo_services, user)
    assert sent.ok, sent.message
    assert sink.received == 1
    [mail] = sink.latest
    assert mail.recipients == (user.email,)
    mailed_code = re.findall(r"\b\d{6}\b", mail.message.get_content())
    [logged] = await audit.outbox(demo_services.db)
    assert (logged.channel, logged.recipient, logged.error) == ("email", user.email, None)
    assert logged.body is not None and re.findall(r"\b\d{6}\b", logged.body) == mailed_code
    verified = await factors.confirm_setup(demo_services, user, "email", mailed_code[0])
    assert verified.ok


async def test_only_the_latest_messages_are_kept_in_memory_but_all_are_counted(
    config: Config,
) -> None:
    with DemoMailSink(kept=2) as small:
        sender = EmailSender(demo_config(config, small).email)
        for number in range(3):
            await sender.send(Message("email", f"user{number}@example.com", "Hi", "Hello."))
        assert small.received == 3
        assert [mail.recipients for mail in small.latest] == [
            ("user1@example.com",),
            ("user2@example.com",),
        ]


async def test_two_demos_get_two_ports_and_a_stopped_sink_refuses_mail(config: Config) -> None:
    with DemoMailSink() as first, DemoMailSink() as second:
        assert first.port != second.port
        stopped_config = demo_config(config, first)
    assert not first.running
    first.stop()  # stopping again is harmless
    sender = EmailSender(stopped_config.email)
    with pytest.raises(DeliveryError) as refused:
        await sender.send(Message("email", "x@example.com", "Hi", "Hello."))
    assert refused.value.reason == "unreachable"
    assert str(refused.value).startswith(f"Couldn't reach the mail server 127.0.0.1:{first.port}.")
    with pytest.raises(RuntimeError):
        demo_config(config, first)
