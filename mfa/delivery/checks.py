"""What a host check (``mfa-tui admin check``) reports about delivery, without sending anything.

:func:`delivery_problems` returns one sentence per problem, each naming the setting to change;
an empty list means nothing was found. The configuration already refuses at start-up what would
send a secret in plain text (``mfa.transport``); this also reports what only weakens delivery.
"""

from __future__ import annotations

from mfa.config import Config
from mfa.delivery.email import greeting_problem
from mfa.transport import email_transport_refusal, is_loopback, sms_gateway_refusal


def delivery_problems(config: Config) -> list[str]:
    """Problems with the ``[email]`` and ``[sms]`` settings, as sentences naming the setting."""
    problems: list[str] = []
    mail = config.email
    greeting = greeting_problem(mail)
    if greeting is not None:
        problems.append(greeting)
    refusal = email_transport_refusal(mail.tls, mail.host, mail.username)
    if refusal is not None:
        problems.append(refusal + ".")
    elif mail.tls == "none" and not is_loopback(mail.host):
        problems.append(
            f'email.tls = "none": codes travel to {mail.host} unencrypted; use "opportunistic" '
            '(STARTTLS when offered) or "starttls".'
        )
    sms = config.sms
    for provider, url, key in (
        ("http", sms.http_url, "sms.http_url"),
        ("twilio", sms.twilio_api_url, "sms.twilio_api_url"),
    ):
        found = sms_gateway_refusal(url, key) if sms.provider == provider else None
        if found is not None:
            problems.append(found + ".")
    return problems
