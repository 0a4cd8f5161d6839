"""IMAP polling against a real dovecot on loopback, started and stopped by the test: an email delivered to the
mailbox (IMAP APPEND) is answered through the SMTP sink and flagged \\Seen, while the poller waits in IDLE.
Needs Debian's dovecot-imapd (scripts/apt-packages.txt); HELPLINE_REQUIRE_IMAP=1 (CI) makes its absence fail."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from helpline.channels.email.imap import ImapUrl
from tests.channels.email.harness import SUPPORT, EmailHarness, email, parsed, plain_text, settings
from tests.conftest import RuntimeFactory
from tests.smtp_inbox import SmtpTestServer, free_port

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
PASSWORD = "dovecot-test-password"
DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)

if DOVECOT is None:
    if os.environ.get("HELPLINE_REQUIRE_IMAP") == "1":
        pytest.fail("HELPLINE_REQUIRE_IMAP=1 but dovecot is not installed (apt-get install dovecot-imapd)",
                    pytrace=False)
    pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; scripts/apt-packages.txt)",
                allow_module_level=True)


@dataclass
class Dovecot:
    port: int
    folder: Path

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(SUPPORT, PASSWORD)
        return client


def _mail_user() -> tuple[int, int, str, str]:
    """(uid, gid, internal user, login user): as root, dovecot's own users (it refuses to serve mail as root);
    as anyone else, that user for everything."""
    if os.getuid() != 0:
        name = pwd.getpwuid(os.getuid()).pw_name
        return os.getuid(), os.getgid(), name, name
    user = pwd.getpwnam("dovecot")
    return user.pw_uid, user.pw_gid, "dovecot", "dovenull"


@pytest.fixture()
def dovecot() -> Iterator[Dovecot]:
    folder = Path(tempfile.mkdtemp(prefix="helpline-dovecot-"))  # not tmp_path: dovecot's user must reach it
    folder.chmod(0o755)
    uid, gid, internal, login = _mail_user()
    (folder / "mail").mkdir()
    os.chown(folder / "mail", uid, gid)
    (folder / "passwd").write_text(f"{SUPPORT}:{{PLAIN}}{PASSWORD}\n")
    port = free_port()
    (folder / "dovecot.conf").write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = {uid}
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/mail/%u
}}
mail_location = maildir:{folder}/mail/%u/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    assert DOVECOT is not None
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(folder / "dovecot.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    server = Dovecot(port, folder)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                server.client().logout()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
                    pytest.fail(f"dovecot did not start: {log[-2000:]}")
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_mailbox_email_is_answered_and_marked_seen(make_runtime: RuntimeFactory, dovecot: Dovecot,
                                                   tmp_path: Path) -> None:
    with SmtpTestServer() as sink:
        base = settings(sink, tmp_path)
        harness = EmailHarness(make_runtime(NOW), sink, replace(
            base, listen_port=None, imap=ImapUrl.parse(f"imap://{SUPPORT.replace('@', '%40')}@127.0.0.1:"
                                                       f"{dovecot.port}/INBOX"), imap_password=PASSWORD))
        mailbox = dovecot.client()
        mailbox.select_folder("INBOX")
        # one email already waiting when the poller starts, one delivered while it waits in IDLE
        mailbox.append("INBOX", email("Descaling", "How do I descale my espresso machine?",
                                      message_id="<imap1@example.com>").as_bytes())

        async def scenario(h: EmailHarness) -> None:
            assert h.service is not None and h.service.poller is not None
            poller = h.service.poller
            for _ in range(300):
                if len(h.replies()) == 1 and poller.idling.is_set():
                    break
                await asyncio.sleep(0.05)
            assert len(h.replies()) == 1 and poller.idling.is_set()
            await asyncio.to_thread(mailbox.append, "INBOX", email(
                "Re: Descaling", "And what payment methods do you accept?", message_id="<imap2@example.com>",
                headers={"In-Reply-To": str(parsed(h.replies()[0])["Message-ID"])}).as_bytes())
            for _ in range(300):
                if len(h.replies()) == 2:
                    break
                await asyncio.sleep(0.05)

        harness.run(scenario)
        replies = harness.replies()
        assert len(replies) == 2
        assert parsed(replies[0])["In-Reply-To"] == "<imap1@example.com>"
        assert "Descaling and cleaning your machine" in plain_text(replies[0])
        assert parsed(replies[1])["In-Reply-To"] == "<imap2@example.com>"
        assert len({r.conversation_id for r in harness.records()}) == 1
        mailbox.noop()
        assert mailbox.search(["UNSEEN"]) == [] and len(mailbox.search(["SEEN"])) == 2
        mailbox.logout()
