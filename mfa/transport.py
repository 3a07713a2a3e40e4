"""How codes travel: which connections must be encrypted, decided in one place.

The rules (pure functions, no network, so the configuration can apply them at start-up):

- email: ``tls = "opportunistic"`` (the default) upgrades with STARTTLS whenever the server offers
  it; ``starttls`` requires the upgrade; ``tls`` speaks TLS from the first byte; ``none`` never
  encrypts. Where a password would be sent (``username`` set) to a server that is not on this host,
  the connection must be encrypted and the certificate verified, whatever the mode says; ``none``
  with a password to such a server is refused outright.
- SMS: a gateway reached over the network gets a token or an auth token, so its URL must be
  ``https://``; plain ``http://`` is accepted only for a gateway on this host.

"Loopback" is decided from the name as written, without asking DNS: ``localhost`` (and names under
``.localhost``), ``127.0.0.0/8`` and ``::1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

EMAIL_TLS_MODES = ("opportunistic", "starttls", "tls", "none")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, as configured) is this machine's loopback."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    import ipaddress  # only when a host is judged: start-up with the defaults doesn't need it

    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class TlsPlan:
    """How one SMTP connection is to be protected."""

    mode: Literal["tls", "starttls", "plain"]
    """``tls``: TLS from the first byte; ``starttls``: upgrade when offered; ``plain``: never."""
    required: bool
    """The send fails rather than go on unencrypted (``starttls`` not offered, handshake failed)."""
    verify: bool
    """The certificate must be trusted and match the name (otherwise it only encrypts)."""


def email_tls_plan(tls: str, host: str, *, has_login: bool) -> TlsPlan:
    """The protection an SMTP connection gets for the ``[email]`` settings given.

    Opportunistic STARTTLS without a password to protect only keeps passive listeners out, as a
    mail server's "may" level does: a self-signed certificate is accepted. With a password for a
    server elsewhere it becomes required and verified.
    """
    if tls == "tls":
        return TlsPlan("tls", required=True, verify=True)
    if tls == "starttls":
        return TlsPlan("starttls", required=True, verify=True)
    if tls == "none":
        return TlsPlan("plain", required=False, verify=False)
    if has_login and not is_loopback(host):
        return TlsPlan("starttls", required=True, verify=True)
    return TlsPlan("starttls", required=False, verify=False)


def email_transport_refusal(tls: str, host: str, username: str) -> str | None:
    """Why these ``[email]`` settings can't be used (None: they can): a password in plain text."""
    if username and tls == "none" and not is_loopback(host):
        return (
            f'email.tls = "none" would send the SMTP password of {username} to {host} '
            'unencrypted; use "opportunistic", "starttls" or "tls" (only a mail server on this '
            "host may get a password without TLS)"
        )
    return None


def sms_gateway_refusal(url: str, key: str = "sms.http_url") -> str | None:
    """Why an SMS gateway URL can't be used to send a secret (None: it can)."""
    text = url.strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        return None  # not a URL at all: the provider says so when it is used
    if parts.scheme.lower() == "http" and host and not is_loopback(host):
        return (
            f"{key} is http://, which would send the gateway's credentials and the codes to "
            f"{host} unencrypted; use https:// (http:// only reaches a gateway on this host)"
        )
    return None
