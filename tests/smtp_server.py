"""A real SMTP server for tests: ``aiosmtpd`` on 127.0.0.1, a free port, messages kept in a list.

Typical use::

    with SmtpSink() as sink:
        await EmailSender(sink.email_config()).send(message)
        assert sink.messages[0]["To"] == "john@example.com"

With STARTTLS (and a certificate made for the test)::

    cert = make_test_certificate(tmp_path)
    with SmtpSink(starttls_cert=cert) as sink:
        config = sink.email_config()  # tls="starttls", ca_file=cert.cert_file

Also here: :func:`silent_server` (accepts connections and never answers: for deadlines) and
:func:`unused_port` (a port nothing listens on: for "unreachable").
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mfa.config import EmailConfig

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TestCertificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and its private key, as PEM files."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_test_certificate(directory: Path, name: str = "smtp-test") -> TestCertificate:
    """Write a fresh self-signed certificate (CN/SAN 127.0.0.1 and localhost) into ``directory``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file = directory / f"{name}.crt"
    key_file = directory / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TestCertificate(cert_file, key_file)


class _Handler:
    """Collects every message; refuses what it was told to refuse, the way real servers do."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.sink.helo_names.append(hostname)
        if self.sink.helo_reply is not None:
            return [self.sink.helo_reply]
        session.host_name = hostname
        return responses

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> str:
        self.sink.helo_names.append(hostname)
        if self.sink.helo_reply is not None:
            return self.sink.helo_reply
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sink.require_fqdn_helo and "." not in (session.host_name or ""):
            # What Postfix says with reject_non_fqdn_helo_hostname (checked at RCPT by default).
            return (
                f"504 5.5.2 <{session.host_name}>: Helo command rejected: "
                "need fully-qualified hostname"
            )
        if self.sink.rcpt_reply is not None:
            return self.sink.rcpt_reply
        if address.lower() in self.sink.refuse_recipients:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        encrypted = session.ssl is not None or (
            server.transport is not None
            and server.transport.get_extra_info("sslcontext") is not None
        )
        with self.sink.lock:
            self.sink.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
            self.sink.messages.append(parsed)
            self.sink.raw_messages.append(raw)
            self.sink.encrypted.append(encrypted)
        return "250 Message accepted"


class _Controller(Controller):
    """An aiosmtpd controller that can bind port 0 (the OS picks a free port)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives.

    Args:
        starttls_cert: Offer STARTTLS with this certificate and require it before MAIL.
        implicit_tls_cert: Speak TLS from the first byte (``tls = "tls"`` clients).
        require_starttls: Override whether STARTTLS is required (only with ``starttls_cert``).
        refuse_recipients: Addresses answered with ``550`` at RCPT.
        credentials: ``(username, password)``: offer AUTH (also without TLS) and accept only these.
        helo_reply: The answer to every EHLO and HELO (a refusal such as ``504 5.5.2 ...``).
        rcpt_reply: The answer to every RCPT (``554 5.7.1 <x>: Relay access denied``).
        require_fqdn_helo: Refuse at RCPT a greeting name without a dot, as Postfix's
            ``reject_non_fqdn_helo_hostname`` does.
    """

    def __init__(
        self,
        *,
        starttls_cert: TestCertificate | None = None,
        implicit_tls_cert: TestCertificate | None = None,
        require_starttls: bool | None = None,
        refuse_recipients: Collection[str] = (),
        credentials: tuple[str, str] | None = None,
        helo_reply: str | None = None,
        rcpt_reply: str | None = None,
        require_fqdn_helo: bool = False,
    ) -> None:
        self.helo_reply = helo_reply
        self.rcpt_reply = rcpt_reply
        self.require_fqdn_helo = require_fqdn_helo
        self.helo_names: list[str] = []
        """Every name the client greeted with (EHLO or HELO), in order."""
        self.raw_messages: list[bytes] = []
        """Every accepted message as it came over the wire."""
        self.encrypted: list[bool] = []
        """Whether each accepted message came over TLS."""
        self.starttls_cert = starttls_cert
        self.implicit_tls_cert = implicit_tls_cert
        self.refuse_recipients = {address.lower() for address in refuse_recipients}
        self.credentials = credentials
        self.host = HOST
        self.port = 0
        self.messages: list[EmailMessage] = []
        """Every accepted message, parsed, in arrival order."""
        self.envelopes: list[tuple[str, list[str]]] = []
        """``(mail_from, rcpt_tos)`` of every accepted message, in the same order."""
        self.lock = threading.Lock()
        self.auth_attempts: list[str] = []
        """User names that tried to sign in (passwords are not kept)."""
        kwargs: dict[str, Any] = {"server_hostname": "smtp-sink.test", "ready_timeout": 10.0}
        if starttls_cert is not None:
            kwargs["tls_context"] = starttls_cert.server_context()
            kwargs["require_starttls"] = True if require_starttls is None else require_starttls
        if implicit_tls_cert is not None:
            kwargs["ssl_context"] = implicit_tls_cert.server_context()
        if credentials is not None:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_require_tls"] = False
        self._controller = _Controller(_Handler(self), hostname=HOST, port=0, **kwargs)

    def email_config(self, **overrides: Any) -> EmailConfig:
        """An ``[email]`` section pointing at this server, with the matching TLS mode and CA file."""
        values: dict[str, Any] = {"host": self.host, "port": self.port, "timeout_seconds": 5.0}
        cert = self.starttls_cert or self.implicit_tls_cert
        if self.starttls_cert is not None:
            values["tls"] = "starttls"
        elif self.implicit_tls_cert is not None:
            values["tls"] = "tls"
        else:
            values["tls"] = "none"
        if cert is not None:
            values["ca_file"] = str(cert.cert_file)
        if self.credentials is not None:
            values["username"] = self.credentials[0]
        values.update(overrides)
        return EmailConfig(**values)

    def messages_to(self, address: str) -> list[EmailMessage]:
        """The accepted messages whose envelope includes ``address``."""
        with self.lock:
            pairs = list(zip(self.envelopes, self.messages, strict=True))
        wanted = address.lower()
        return [m for (_, rcpts), m in pairs if wanted in (r.lower() for r in rcpts)]

    def start(self) -> SmtpSink:
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> SmtpSink:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        self.auth_attempts.append(login)
        ok = (login, auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False)


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word; yields its port."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
