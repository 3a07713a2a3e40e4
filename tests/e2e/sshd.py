"""A kiosk host for tests: docs/ssh-kiosk.md's steps run as written, and a real sshd on loopback.

:class:`KioskHost` follows the deployment guide: it runs the shell blocks the guide marks
``<!-- tested: NAME -->`` with ``bash``, and gives its own ``sshd`` (127.0.0.1, a free high port,
its own host key and ``sshd_config``) the guide's ``sshd_config`` block byte for byte after a few
test-only global lines. Only names change, by plain text replacement: ``/opt/mfa-tui``,
``/etc/mfa-tui`` and ``/var/lib/mfa-tui`` move into a temporary directory, the group
``kiosk-techs`` and the account ``kiosk-svc`` get unique names, ``/path/to/mfa-tui`` is this
checkout, ``/opt/lmm/bin/lmm`` (the product) is a script that records its environment and waits
for Enter, and the guide's mail server is the test's aiosmtpd (which wants the SMTP user name and
the password the guide's secret file holds). Unix accounts and the group are created for the run and removed after it, with their
home directories; SSH keys are generated per run.

Everything here needs root (``useradd``, ``sshd``); :func:`unavailable` says why a test can't run.
The installation (a virtualenv on ``/usr/bin/python3``, as the guide says) is built once per run
and shared by every test process of the run (:func:`shared_installation`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pyte

from tests.conftest import SHARED_DIRECTORY
from tests.e2e.terminal import UNSET, Terminal
from tests.smtp_server import SmtpSink

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "ssh-kiosk.md"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
SSH = shutil.which("ssh") or "/usr/bin/ssh"

PASSWORD = "kiosk sunrise ladder"
"""Every mfa-tui account's password in these tests."""

SMTP_USER = "kiosk-mail@acme-logistics.com"
SMTP_PASSWORD = "relay password 7Q"
"""What the guide's ``[email]`` section and secret file hold (the test's mail server checks them)."""

PRODUCT = "Locker Management Module"
PRODUCT_SCRIPT = """#!/bin/sh
# Stands in for the product: records who launched it (its environment), then waits for Enter.
env > "{records}/$(id -un).$$.env"
printf '\033[H\033[2J'  # a clean screen, as a full-screen product starts on
echo "{product} for $MFA_TUI_USER_EMAIL ($*)"
echo "Press Enter to leave."
read -r answer
"""


def unavailable() -> str:
    """Why the SSH tests can't run here ("" when they can)."""
    if os.geteuid() != 0:
        return "needs root: it creates Unix accounts and runs its own sshd"
    if not Path(SSHD).is_file():
        return "sshd is not installed (.ci/run installs openssh-server when it is root)"
    for tool in ("ssh", "ssh-keygen", "useradd", "groupadd", "runuser"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return ""


def guide_block(name: str) -> str:
    """The fenced block marked ``<!-- tested: name -->`` in docs/ssh-kiosk.md, as written."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(
        rf"^<!-- tested: {re.escape(name)} -->\n```[a-z]*\n(.*?)^```$", text, re.M | re.S
    )
    if found is None:
        raise AssertionError(f"docs/ssh-kiosk.md has no block marked 'tested: {name}'")
    return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def shared_directory(prefix: str, parent: Path | None = None) -> Path:
    """A new directory under /tmp (or ``parent``) that every account may enter (pytest's own are
    0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=str(parent or "/tmp")))
    path.chmod(0o755)
    return path


def run(command: list[str] | str, *, stdin: str = "", check: bool = True) -> str:
    """Run a command (a string runs in ``bash -euo pipefail``); its output, failing loudly."""
    argv = ["bash", "-euo", "pipefail", "-c", command] if isinstance(command, str) else command
    done = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=300, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{command!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Installation:
    """The guide's step 1: mfa-tui in a virtualenv on the system Python, readable by all."""

    base: Path
    prefix: Path

    @classmethod
    def build(cls, parent: Path | None = None) -> Installation:
        base = shared_directory("mfa-tui-opt-", parent)
        prefix = base / "opt" / "mfa-tui"
        prefix.parent.mkdir(mode=0o755)
        # The packages are .ci/run's business (apt-get holds a host-wide lock: not in a test).
        lines = guide_block("install").splitlines(keepends=True)
        script = "".join(line for line in lines if not line.startswith("apt-get "))
        # pip builds a local project inside its folder (build/, *.egg-info): installations made
        # at once (one per test worker) each build from their own copy of the checkout.
        source = base / "source"
        shutil.copytree(
            REPO, source,
            ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                          ".pytest_cache", ".ruff_cache", "*.db*"),
        )  # fmt: skip
        script = script.replace("/opt/mfa-tui", str(prefix)).replace(
            "/path/to/mfa-tui", str(source)
        )
        try:
            run(script)
        except BaseException:
            shutil.rmtree(base, ignore_errors=True)
            raise
        return cls(base, prefix)

    @property
    def executable(self) -> Path:
        return self.prefix / ".venv" / "bin" / "mfa-tui"

    def remove(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def shared_installation() -> Installation:
    """The run's installation, built by whichever test process asks first.

    The build takes a while (a virtualenv and a non-editable ``pip install``, bytecode compiled):
    test processes running at once take turns on a lock, and the first builds while the others
    wait for it. Without a shared directory (this module used outside pytest) a new one is built.
    """
    shared = os.environ.get(SHARED_DIRECTORY)
    if not shared:
        return Installation.build()
    root = Path(shared)
    root.mkdir(mode=0o755, exist_ok=True)
    root.chmod(0o755)  # the accounts run the installed program from inside it
    where = root / "installation"
    with open(root / "installation.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if where.is_file():
            base = Path(where.read_text())
            return Installation(base, base / "opt" / "mfa-tui")
        built = Installation.build(parent=root)
        where.write_text(str(built.base))
        return built


_early: dict[str, object] = {}
_early_lock = threading.Lock()


def start_shared_installation() -> None:
    """Begin :func:`shared_installation` in the background, so that the tests needing it find
    it ready (the test process runs other tests meanwhile)."""
    with _early_lock:
        if "thread" in _early:
            return

        def build() -> None:
            try:
                _early["result"] = shared_installation()
            except BaseException as error:  # reported by the test that needs it
                _early["result"] = error

        thread = threading.Thread(target=build, name="kiosk-installation", daemon=True)
        _early["thread"] = thread
        thread.start()


def finish_shared_installation() -> None:
    """Wait for a build :func:`start_shared_installation` began, if any."""
    thread = _early.get("thread")
    if isinstance(thread, threading.Thread):
        thread.join()


def wait_for_shared_installation() -> Installation:
    """The installation :func:`start_shared_installation` began (it starts it if nobody did)."""
    start_shared_installation()
    thread = _early["thread"]
    assert isinstance(thread, threading.Thread)
    thread.join()
    result = _early["result"]
    if isinstance(result, BaseException):
        raise AssertionError("the installation could not be built") from result
    assert isinstance(result, Installation)
    return result


@dataclass
class Person:
    """Someone who signs in: a Unix account to reach (their own, or the shared one) and a key."""

    unix_name: str
    email: str
    name: str
    key: Path


_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def wait_for_code(sink: SmtpSink, address: str, seen: set[str], timeout: float = 30) -> str:
    """The code in the newest message to ``address``, once it is one not read before."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(sink.messages_to(address)):
            body = message.get_body(("plain",))
            found = _CODE.search(body.get_content() if body is not None else "")
            if found and found.group() not in seen:
                seen.add(found.group())
                return found.group()
            if found:
                break  # the newest code is an old one: wait for the next message
        time.sleep(0.1)
    raise AssertionError(f"no new code for {address} arrived")


def type_credentials(terminal: Terminal, email: str) -> None:
    """On the sign-in screen: the address, Enter, the password, Enter (each field's text in one
    write, as a fast typist or a password manager sends it; typing itself is tested locally)."""
    terminal.write(email)
    terminal.press("enter")
    terminal.write(PASSWORD)
    terminal.press("enter")


@dataclass
class KioskHost:
    """One layout of the guide, set up in a temporary directory, with its own sshd."""

    layout: str
    """``a`` (one service account) or ``b`` (own accounts in one group)."""
    installation: Installation
    sink: SmtpSink
    base: Path = field(init=False)
    token: str = field(default_factory=lambda: secrets.token_hex(3))
    accounts: list[str] = field(default_factory=list)
    group: str = ""
    service: str = ""
    port: int = 0
    sshd: subprocess.Popen[bytes] | None = None
    host_key: Path = field(init=False)

    def __post_init__(self) -> None:
        self.base = shared_directory(f"mfa-tui-ssh-{self.layout}-")
        (self.base / "keys").mkdir(mode=0o700)
        self.records.mkdir()
        self.records.chmod(0o1777)  # every technician's product writes its record here
        self.product.write_text(PRODUCT_SCRIPT.format(records=self.records, product=PRODUCT))
        self.product.chmod(0o755)
        if self.layout == "b":
            self.group = f"mk{self.token}-techs"
        else:
            self.service = f"mk{self.token}-svc"

    # ---- the guide's names, moved into the test's directory ------------------------------------

    @property
    def etc(self) -> Path:
        return self.base / "etc" / "mfa-tui"

    @property
    def data(self) -> Path:
        return self.base / "var" / "lib" / "mfa-tui"

    @property
    def config_file(self) -> Path:
        return self.etc / "config.toml"

    @property
    def records(self) -> Path:
        """Where the product writes one file per launch: its environment."""
        return self.base / "records"

    @property
    def product(self) -> Path:
        """The script in place of the guide's ``/opt/lmm/bin/lmm``."""
        return self.base / "lmm"

    def launches(self, person: Person) -> list[dict[str, str]]:
        """The environment of each launch of the product by ``person``'s Unix account, oldest
        first."""
        found = sorted(
            self.records.glob(f"{person.unix_name}.*.env"), key=lambda path: path.stat().st_mtime
        )
        return [_environment(path.read_text()) for path in found]

    def substitute(self, text: str, extra: dict[str, str] | None = None) -> str:
        replacements = {
            "/opt/mfa-tui": str(self.installation.prefix),
            "/etc/mfa-tui": str(self.etc),
            "/var/lib/mfa-tui": str(self.data),
            "kiosk-techs": self.group or "kiosk-techs",
            "kiosk-svc": self.service or "kiosk-svc",
            "/opt/lmm/bin/lmm": str(self.product),
            **(extra or {}),
        }
        # One pass, longest name first, so that a replacement is never replaced again.
        names = "|".join(re.escape(old) for old in sorted(replacements, key=len, reverse=True))
        return re.sub(names, lambda found: replacements[found.group()], text)

    def run_block(self, name: str, *, stdin: str = "", extra: dict[str, str] | None = None) -> str:
        return run(self.substitute(guide_block(name), extra), stdin=stdin)

    # ---- setting the host up --------------------------------------------------------------------

    def set_up(self) -> None:
        """Directories, configuration and the first admin (the guide's step 2), then sshd."""
        (self.base / "var" / "lib").mkdir(parents=True, mode=0o755)
        (self.base / "etc").mkdir(mode=0o755)
        try:
            self.run_block(f"layout-{self.layout}-files")
        finally:
            # Whatever ran of the block: remember what to remove.
            if self.service and _exists_user(self.service):
                self.accounts.append(self.service)
        self._add_mail_settings()
        password_twice = f"{PASSWORD}\n"
        self.run_block(f"layout-{self.layout}-init", stdin=password_twice)
        self.host_key = self.base / "ssh_host_ed25519_key"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.host_key)])
        self.start_sshd(f"layout-{self.layout}-sshd")

    def _add_mail_settings(self) -> None:
        """The guide's secret file and ``[email]`` section, pointed at the test's aiosmtpd (plain
        SMTP on loopback); the resend cooldown is off. The password hash keeps its defaults: the
        configuration refuses anything weaker."""
        # Layout (a): the guide says to give the secret file the service account's group.
        group = {"kiosk-techs": self.service} if self.layout == "a" else {}
        self.run_block("secret-files", stdin=f"{SMTP_PASSWORD}\n", extra=group)
        mail = {
            "smtp.acme-logistics.com": self.sink.host,
            "587": str(self.sink.port),
            '"starttls"': '"none"',
        }
        text = self.config_file.read_text()
        text = text.replace("[security]\n", "[security]\nresend_cooldown_seconds = 0\n")
        text += "\n" + self.substitute(guide_block("email-section"), mail)
        self.config_file.write_text(text)  # keeps the file's owner and mode

    def add_kiosk_mode(self) -> None:
        """The guide's kiosk-mode block: the end of the mfa-tui session ends the SSH session."""
        self.run_block("kiosk-mode")

    def add_person(self, role: str, email: str, name: str) -> Person:
        """A person with an SSH key: their own Unix account (layout b) or the service account's.

        The subscription's first admin exists already (``admin init``); anyone else is added.
        """
        key = self.base / "keys" / f"id-{len(list((self.base / 'keys').iterdir()))}"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(key)])
        public = key.with_suffix(".pub").read_text()
        if self.layout == "b":
            unix_name = f"mk{self.token}-{len(self.accounts)}"
            if role == "admin":
                run(["useradd", "--create-home", "--shell", "/bin/sh", "--groups", self.group,
                     unix_name])  # fmt: skip
                self.accounts.append(unix_name)
            else:
                extra = {"alex.kim@acme-logistics.com": email, "Alex Kim": name, "alex": unix_name}
                try:
                    self.run_block("layout-b-person", stdin=f"{PASSWORD}\n", extra=extra)
                finally:
                    if _exists_user(unix_name):
                        self.accounts.append(unix_name)
        else:
            unix_name = self.service
            if role != "admin":
                run(
                    ["runuser", "-u", self.service, "--", str(self.installation.executable),
                     "--config", str(self.config_file), "admin", "users", "add", email,
                     "--name", name],
                    stdin=f"{PASSWORD}\n",
                )  # fmt: skip
        # The guide uses Debian's UsePAM yes; this sshd runs without PAM (no PAM in containers).
        run(["usermod", "-p", "*", unix_name])
        _authorize(unix_name, public)
        return Person(unix_name, email, name, key)

    def start_sshd(self, block: str) -> None:
        """(Re)start this host's sshd with the guide's ``sshd_config`` block ``block``, on a new
        port (the host key stays)."""
        self.stop_sshd()
        self.port = free_port()
        (self.base / "known_hosts").write_text(
            f"[127.0.0.1]:{self.port} {self.host_key.with_suffix('.pub').read_text()}"
        )
        config = self.base / f"sshd_config-{block}"
        config.write_text(
            "# Test-only global settings; the guide's block follows unchanged but for names.\n"
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.base / 'sshd.pid'}\n"
            "UsePAM no\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\n"
            "AuthorizedKeysFile .ssh/authorized_keys\n"
            "MaxStartups 100:30:200\n"
            "LogLevel VERBOSE\n" + self.substitute(guide_block(block))
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        run([SSHD, "-t", "-f", str(config)])
        log = open(self.base / "sshd.log", "ab")  # noqa: SIM115 (closed by the process)
        self.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.05)
        raise AssertionError(f"sshd never listened:\n{self.sshd_log()}")

    def stop_sshd(self) -> None:
        if self.sshd is not None:
            self.sshd.terminate()
            try:
                self.sshd.wait(10)
            except subprocess.TimeoutExpired:
                self.sshd.kill()
            self.sshd = None

    def sshd_log(self) -> str:
        return (self.base / "sshd.log").read_text(errors="replace")

    # ---- connecting -----------------------------------------------------------------------------

    def client_options(self, person: Person, port_flag: str = "-p") -> list[str]:
        """What ssh, scp and sftp need to reach this host as ``person`` (and nothing else)."""
        return [
            "-F", "/dev/null", port_flag, str(self.port), "-i", str(person.key),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.base / 'known_hosts'}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        ]  # fmt: skip

    def ssh_argv(
        self, person: Person, *options: str, tty: str = "-tt", command: tuple[str, ...] = ()
    ) -> list[str]:
        """``ssh`` as the person runs it (``-tt``: a terminal even with no terminal here)."""
        return [
            SSH, tty, *self.client_options(person), *options, f"{person.unix_name}@127.0.0.1",
            *command,
        ]  # fmt: skip

    def connect(self, person: Person, *options: str, wait: bool = True) -> SshTerminal:
        """Connect as ``person`` in an 80x24 pty and wait for mfa-tui's sign-in screen."""
        terminal = SshTerminal(self.ssh_argv(person, *options))
        if wait:
            terminal.wait_for_all("Sign In", "Email address", timeout=30)
        return terminal

    # ---- ending ---------------------------------------------------------------------------------

    def remove(self) -> None:
        """Stop sshd and whatever the accounts still run, remove the accounts, group, files."""
        self.stop_sshd()
        for name in self.accounts:
            _end_processes_of(name)
            run(["userdel", "--remove", name], check=False)
        if self.group:
            run(["groupdel", self.group], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


class SshTerminal(Terminal):
    """:class:`Terminal` on an ``ssh -tt`` client instead of a local mfa-tui."""

    def __init__(self, argv: list[str], *, cols: int = 80, rows: int = 24) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        env = {name: value for name, value in os.environ.items() if name not in UNSET}
        env.update({"TERM": "xterm-256color", "COLUMNS": str(cols), "LINES": str(rows)})
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(rows, cols), timeout=5)
        self.child.delaybeforesend = None


def _environment(text: str) -> dict[str, str]:
    """``env``'s output as a mapping (values with newlines are not expected here)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _exists_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _authorize(unix_name: str, public_key: str) -> None:
    """Add a key to the account's ``~/.ssh/authorized_keys`` (0700 / 0600, the account's)."""
    account = pwd.getpwnam(unix_name)
    ssh_dir = Path(account.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    with open(keys, "a") as handle:
        handle.write(public_key)
    for path in (ssh_dir, keys):
        os.chown(path, account.pw_uid, account.pw_gid)
    keys.chmod(0o600)


def command_line(pid: int) -> str:
    """What process ``pid`` runs ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def processes_of(unix_name: str) -> list[int]:
    """The ids of the processes running as ``unix_name``.

    A process that has ended but whose status its parent has not collected yet (a zombie) is not
    running: the account's own ones are orphans waiting for init (sshd's session process ends
    after the monitor that started it), and some inits collect them only every second or two.
    """
    try:
        uid = pwd.getpwnam(unix_name).pw_uid
    except KeyError:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid and not _ended(entry):
                    found.append(int(entry.name))
    return found


def _ended(process: Path) -> bool:
    """Whether the process ``/proc/<pid>`` is a zombie (its state field, after the name)."""
    status = (process / "stat").read_text()
    return status[status.rindex(")") + 2 :].startswith("Z")


def _end_processes_of(unix_name: str) -> None:
    """End what the test's accounts still run (each process by its id), before removing them."""
    for pid in processes_of(unix_name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while processes_of(unix_name) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def kiosk_host(layout: str, installation: Installation) -> Iterator[KioskHost]:
    """A set-up host of ``layout`` with its own mail server; everything removed afterwards."""
    with SmtpSink(credentials=(SMTP_USER, SMTP_PASSWORD)) as sink:
        host = KioskHost(layout, installation, sink)
        try:
            host.set_up()
            yield host
        finally:
            host.remove()
