"""End to end against a real MTA: Exim on 127.0.0.1, its own configuration, delivering to a maildir.

Exim (Debian's ``exim4-daemon-light``; ``.ci/run`` installs it) runs as a foreground daemon on a
free port with a configuration written for the test: it delivers ``kiosk.test`` and ``corp.local``
into a maildir read back here, offers STARTTLS with a test certificate, refuses to relay anything
else, and refuses a greeting name without a dot at RCPT, as a company mail server does. Skipped,
saying why, where Exim is missing or the test can't run it (it needs root to hand the spool to
Exim's own user).
"""

from __future__ import annotations

import email
import email.policy
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from mfa import sending
from mfa.clock import ManualClock
from mfa.config import Config, EmailConfig
from mfa.delivery import DeliveryError, Message
from mfa.delivery.email import EmailSender
from tests.mfa.factor_helpers import make_user, services_for
from tests.smtp_server import HOST, make_test_certificate, unused_port

EXIM = shutil.which("exim4") or shutil.which("exim")
EXIM_USER = "Debian-exim"

_CONFIG = """\
keep_environment =
primary_hostname = mta.test
spool_directory = {root}/spool
log_file_path = {root}/log/%slog
daemon_smtp_ports = {port}
local_interfaces = 127.0.0.1
domainlist local_domains = kiosk.test : corp.local
acl_smtp_rcpt = check_rcpt
tls_advertise_hosts = *
tls_certificate = {root}/tls/exim.crt
tls_privatekey = {root}/tls/exim.key

begin acl
check_rcpt:
  deny    message = Helo command rejected: need fully-qualified hostname
          condition = ${{if match{{$sender_helo_name}}{{\\N\\.\\N}}{{no}}{{yes}}}}
  accept  domains = +local_domains
  deny    message = Relay access denied

begin routers
local:
  driver = accept
  domains = +local_domains
  transport = maildir

begin transports
maildir:
  driver = appendfile
  directory = {root}/mail
  maildir_format
  create_directory
  user = {user}
  group = {user}
  mode = 0600
"""


def _why_not() -> str | None:
    if EXIM is None:
        return "no real MTA here: install Debian's exim4-daemon-light to run this test"
    if os.geteuid() != 0:
        return "Exim's spool must belong to its own user: this test needs root"
    try:
        pwd.getpwnam(EXIM_USER)
    except KeyError:
        return f"Exim's user {EXIM_USER} doesn't exist (not Debian's exim4 package?)"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")


@dataclass
class Mta:
    port: int
    root: Path

    def email_config(self, **values: object) -> EmailConfig:
        settings: dict[str, object] = {
            "host": HOST,
            "port": self.port,
            "helo_name": "kiosk7.example.com",
            "from_address": "Kiosk MFA <mfa@kiosk.test>",
            "timeout_seconds": 10.0,
            **values,
        }
        return EmailConfig(**settings)  # type: ignore[arg-type]

    def delivered(self, count: int = 1, wait: float = 10.0) -> list[EmailMessage]:
        """The messages in the maildir once there are ``count`` (Exim delivers in the background)."""
        deadline = time.monotonic() + wait
        while True:
            # Oldest first by delivery time: maildir names don't sort by time within a second.
            found = (self.root / "mail" / "new").glob("*") if self._has_mail() else []
            files = sorted(found, key=lambda path: (path.stat().st_mtime_ns, path.name))
            if len(files) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        parsed = []
        for path in files:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def _has_mail(self) -> bool:
        return (self.root / "mail" / "new").is_dir()


@pytest.fixture(scope="module")
def mta() -> Iterator[Mta]:
    assert EXIM is not None
    root = Path(tempfile.mkdtemp(prefix="mfa-tui-exim-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        root.chmod(0o755)  # Exim's own user works inside it
        for name in ("spool", "log", "mail", "tls"):
            (root / name).mkdir()
            shutil.chown(root / name, EXIM_USER, EXIM_USER)
        certificate = make_test_certificate(root / "tls", "exim")
        for path in (certificate.cert_file, certificate.key_file):
            shutil.chown(path, EXIM_USER, EXIM_USER)
        port = unused_port()
        config = root / "exim.conf"
        config.write_text(_CONFIG.format(root=root, port=port, user=EXIM_USER))
        process = subprocess.Popen(
            [EXIM, "-C", str(config), "-bdf", "-oX", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(port, process, root)
        yield Mta(port, root)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = root / "log" / "paniclog"
            raise RuntimeError(f"Exim stopped: {log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("Exim didn't start listening within 10 seconds")


CODE = Message("email", "jordan@kiosk.test", "Your verification code", "Your code is 428913.")


async def test_a_code_reaches_the_mailbox_over_opportunistic_starttls(mta: Mta) -> None:
    before = len(mta.delivered(0, wait=0))
    await EmailSender(mta.email_config()).send(CODE)

    received = mta.delivered(before + 1)[-1]
    assert received["To"] == "jordan@kiosk.test"
    assert received["From"] == "Kiosk MFA <mfa@kiosk.test>"
    assert received["Message-ID"].endswith("@kiosk.test>")
    assert "428913" in received.get_content()
    # Exim writes "with esmtps" when the message came over TLS: the default upgraded.
    assert "with esmtps" in " ".join(received.get_all("Received") or [])


async def test_the_real_server_refuses_a_bare_localhost_greeting(mta: Mta) -> None:
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(mta.email_config(helo_name="localhost")).send(CODE)

    assert caught.value.reason == "greeting_refused"
    assert "email.helo_name" in str(caught.value)
    assert "Check the address" not in str(caught.value)


async def test_the_real_server_refuses_to_relay(mta: Mta) -> None:
    elsewhere = Message("email", "someone@example.com", "Code", "Your code is 428913.")
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(mta.email_config()).send(elsewhere)

    assert caught.value.reason == "policy_refused"
    assert "refused to relay mail from this host" in str(caught.value)


async def test_a_new_user_on_a_local_domain_gets_the_code(
    mta: Mta, config: Config, clock: ManualClock
) -> None:
    # A company mail server delivering corp.local, listed in email.internal_domains.
    server = mta.email_config(internal_domains=("corp.local",))
    config = config.replace("email", **vars(server))
    async with services_for(config, clock) as services:
        user = await make_user(services, "sam@corp.local")
        before = len(mta.delivered(0, wait=0))
        sent = await sending.start_email_setup(services, user)
        assert sent.ok, sent.message
        assert sent.message == "We sent a code to s***@corp.local."

    received = mta.delivered(before + 1)[-1]
    assert received["To"] == "sam@corp.local"
    assert "Acme" in received.get_content()
