"""A throwaway Dovecot IMAP server on 127.0.0.1 for the sync tests and benchmark.

Adapted from the recipe in ../shared/scripts/dovecot-test-server (the project carries its own copy and
never calls ../shared). It never reads /etc/dovecot: the config, passwords, TLS certificate and mail all
live in one folder. Needs Debian's `dovecot-imapd` and root (Dovecot drops mail access to `nobody`).

    server = DovecotServer(tmp_path).start()
    user = server.add_user()                  # a fresh user: its own Maildir, no mail yet
    user.append(raw_bytes, folder="INBOX", flags=("\\Seen",))
    server.stop()

Two listeners: `port` (plain text, STARTTLS offered) and `tls_port` (implicit TLS). The certificate is
self-signed for 127.0.0.1; a client trusts it through `SSL_CERT_FILE=server.cert_file`.
"""

import datetime as dt
import grp
import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from imap_tools import MailBoxUnencrypted

HOST = "127.0.0.1"
SENT_FOLDER = "Sent Items"
"""The special-use \\Sent folder: deliberately not named "Sent", so a sync that guesses by name fails."""
MAIL_USER = "nobody"
_counter = itertools.count(1)


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed, or cannot run here (not root)."""


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if found is None:
        raise DovecotUnavailable(
            "dovecot is not installed: the IMAP sync tests need a real Dovecot server; "
            "run `apt-get update && apt-get install -y dovecot-imapd` (the lead's .ci/run does this)"
        )
    if os.geteuid() != 0:
        raise DovecotUnavailable("the Dovecot test server must run as root (it hands mail folders to 'nobody')")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (EC key: fast to make)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailroom test dovecot")])
    now = dt.datetime.now(dt.UTC)  # TLS checks validity against the real time, not Mailroom's clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(IPv4Address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


CONFIG = """\
protocols = imap
listen = {host}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_max_userip_connections = 100
mail_location = maildir:{dir}/mail/%u
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{sent}" {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {tls_port}
    ssl = yes
  }}
}}
"""


@dataclass
class ImapUser:
    """One mail account on the test server, with helpers that act like another mail client."""

    server: "DovecotServer"
    name: str
    password: str

    def connect(self) -> MailBoxUnencrypted:
        """A logged-in read-write client (the tests' own, not Mailroom's); use it as a context manager."""
        return MailBoxUnencrypted(HOST, self.server.port, timeout=10).login(self.name, self.password, None)

    def append(self, raw: bytes, folder: str = "INBOX", flags: Iterable[str] = ()) -> None:
        with self.connect() as box:
            box.append(raw, folder, None, tuple(flags))

    def append_many(self, messages: Iterable[bytes], folder: str = "INBOX") -> None:
        with self.connect() as box:
            for raw in messages:
                box.append(raw, folder, None, ())

    def create_folder(self, folder: str) -> None:
        with self.connect() as box:
            box.folder.create(folder)

    def flags(self, folder: str = "INBOX") -> dict[int, frozenset[str]]:
        """UID → flags, read without changing anything (EXAMINE + FETCH FLAGS)."""
        with self.connect() as box:
            box.folder.set(folder, readonly=True)
            typ, data = box.client.uid("FETCH", "1:*", "(UID FLAGS)")
            assert typ == "OK", data
            found: dict[int, frozenset[str]] = {}
            for line in data:
                if not isinstance(line, bytes):
                    continue
                text = line.decode()
                uid = int(text.split("UID ", 1)[1].split()[0].rstrip(")"))
                flags = text.split("FLAGS (", 1)[1].split(")", 1)[0].split()
                found[uid] = frozenset(f for f in flags if f != "\\Recent")
            return found

    @property
    def maildir(self) -> Path:
        return self.server.root / "mail" / self.name

    def write_maildir(self, messages: Iterable[bytes], folder: str = "INBOX") -> int:
        """Deliver straight into the Maildir (much faster than APPEND); Dovecot indexes on the next access."""
        target = self.maildir if folder == "INBOX" else self.maildir / f".{folder.replace('/', '.')}"
        for part in ("cur", "new", "tmp"):
            (target / part).mkdir(parents=True, exist_ok=True)
        uid, gid = self.server.mail_ids
        stamp = int(time.time())
        count = 0
        for count, raw in enumerate(messages, 1):
            path = target / "new" / f"{stamp}.M{count}P{os.getpid()}.mailroom-test,S={len(raw)}"
            path.write_bytes(raw)
            os.chown(path, uid, gid)
        for sub in [target, *(target / p for p in ("cur", "new", "tmp"))]:
            os.chown(sub, uid, gid)
        return count


class DovecotServer:
    """Start, stop and restart a private Dovecot; add users at any time."""

    def __init__(self, root: Path, *, port: int | None = None, tls_port: int | None = None):
        self.binary = dovecot_binary()
        self.root = Path(root)
        self.port = port or free_port()
        self.tls_port = tls_port or free_port()
        self.host = HOST
        self.config_file = self.root / "dovecot.conf"
        self.cert_file = self.root / "cert.pem"
        pw = pwd.getpwnam(MAIL_USER)
        self.mail_ids = (pw.pw_uid, pw.pw_gid)

    def start(self) -> "DovecotServer":
        for sub in ("run", "state", "mail", "home", "users"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in (self.root, self.root / "mail", self.root / "home"):
            sub.chmod(0o755)
        os.chown(self.root / "mail", *self.mail_ids)
        os.chown(self.root / "home", *self.mail_ids)
        if not self.cert_file.exists():
            make_certificate(self.root)
        self.config_file.write_text(
            CONFIG.format(
                host=HOST, dir=self.root, port=self.port, tls_port=self.tls_port, sent=SENT_FOLDER,
                cert=self.cert_file, key=self.root / "key.pem",
                uid=MAIL_USER, gid=grp.getgrgid(self.mail_ids[1]).gr_name,
            )
        )
        # dovecot daemonizes: keep it off our pipes so nobody waits on its stdout
        subprocess.run([self.binary, "-c", str(self.config_file)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._listening(self.port) and self._listening(self.tls_port) and self._master_pid():
                return self
            time.sleep(0.05)
        log = self.root / "dovecot.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
        raise DovecotUnavailable(f"dovecot did not start on {HOST}:{self.port}; log:\n{tail}")

    def stop(self) -> None:
        """Kill the server at once and wait until it is gone: clients see their connections drop.

        (A graceful `doveadm stop` takes ~3 s here; a test server has nothing worth shutting down softly.)
        """
        pid = self._master_pid()
        if pid is None:
            return
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (self._listening(self.port) or self._master_pid() is not None):
            time.sleep(0.02)
        # until PID 1 reaps it, the killed master is a zombie that `dovecot` would take for a running one
        (self.root / "run" / "master.pid").unlink(missing_ok=True)

    def add_user(self, name: str | None = None, password: str = "secret") -> ImapUser:
        name = name or f"user{os.getpid()}x{next(_counter)}"
        home, mail = self.root / "home" / name, self.root / "mail" / name
        for folder in (home, mail):
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, *self.mail_ids)
        # one passwd-file per user: Dovecot reads a new file at once (a shared file that changes within
        # the same second may be served from its cache)
        (self.root / "users" / name).write_text(f"{name}:{{PLAIN}}{password}::::::nodelay=yes\n")
        return ImapUser(self, name, password)

    def doveadm(self, *args: str) -> str:
        done = subprocess.run(["doveadm", "-c", str(self.config_file), *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def _master_pid(self) -> int | None:
        """The running master's pid (dovecot is a session leader: its children share its group)."""
        try:
            pid = int((self.root / "run" / "master.pid").read_text().strip())
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        return None if state in ("Z", "X") else pid  # a killed master may linger as a zombie

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            return False


def raw_imap(user: ImapUser) -> imaplib.IMAP4:
    """A bare imaplib connection, for what imap-tools does not wrap."""
    client = imaplib.IMAP4(HOST, user.server.port, timeout=10)
    client.login(user.name, user.password)
    return client
