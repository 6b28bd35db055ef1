"""Importing old mailboxes: nothing lost, nothing doubled, threads and customers found."""

import json
import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.core.config import load_config
from bot.core.errors import MailroomError
from bot.demo.files import write_starter
from bot.mail.importer import import_messages
from bot.mail.parse import parse_mail
from bot.mail.sources import MessageFile, read_messages
from bot.services import Services
from tests.conftest import DATA

SHARED_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def fresh_services(tmp_path: Path) -> Services:
    write_starter(tmp_path / "mailroom.toml")
    return Services(load_config(tmp_path / "mailroom.toml"), Clock(NOW))


def eml(sender: str, to: str, subject: str, *, msgid: str, date: str = "Mon, 23 Nov 2026 08:00:00 +0800",
        cc: str = "", extra: str = "", body: str = "Hello") -> bytes:
    cc_line = f"Cc: {cc}\n" if cc else ""
    return (f"From: {sender}\nTo: {to}\n{cc_line}Subject: {subject}\nDate: {date}\nMessage-ID: <{msgid}>\n"
            f"{extra}\n{body}\n").encode()


def test_real_corpus_imports_without_loss_and_twice_adds_nothing(tmp_path: Path) -> None:
    """Every file becomes a row or a duplicate of one (same letter); a second import adds 0."""
    source = SHARED_CORPUS if SHARED_CORPUS.is_dir() else DATA / "corpus"
    services = fresh_services(tmp_path)
    files = list(read_messages(source))
    first = import_messages(services.archive, iter(files))
    assert first.read == len(files) == first.new + first.duplicates and first.skipped == []
    stored = {row[0] for row in services.db.execute("SELECT fingerprint FROM messages")}
    for where, raw in files:
        assert parse_mail(raw).fingerprint in stored, f"lost: {where}"
    assert first.with_defects > 0
    second = import_messages(services.archive, iter(files))
    assert second.new == 0 and second.duplicates == len(files)
    assert services.db.execute("SELECT count(*) FROM messages").fetchone()[0] == first.new


def test_same_message_id_with_different_content_keeps_both(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    a = eml("x@a.com", "inquiry@hengda-valves.com", "One", msgid="same@a.com", body="first letter")
    b = eml("x@a.com", "inquiry@hengda-valves.com", "Two", msgid="same@a.com", body="second letter")
    summary = import_messages(services.archive, iter([("a", a), ("b", b), ("b", b)]))
    assert (summary.new, summary.duplicates) == (2, 1)
    defects = services.db.execute("SELECT defects FROM messages WHERE message_id LIKE '%variant%'").fetchone()[0]
    assert "Message-ID reused" in defects


def test_message_cc_to_two_mailboxes_is_one_row_with_two_sightings(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    raw = eml("hans.weber@acme-trading.de", "inquiry@hengda-valves.com", "PO 4521",
              msgid="po4521@acme-trading.de", cc="order@hengda-valves.com")
    import_messages(services.archive, iter([("x", raw)]))
    import_messages(services.archive, iter([("x", raw)]), mailbox="order@hengda-valves.com", folder="INBOX")
    assert services.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    seen = services.db.execute("SELECT mailbox, folder FROM sightings ORDER BY mailbox, folder").fetchall()
    assert seen == [("inquiry@hengda-valves.com", ""), ("order@hengda-valves.com", ""),
                    ("order@hengda-valves.com", "INBOX")]


def test_alias_delivery_is_filed_under_its_mailbox_with_the_alias_kept(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    raw = eml("k.mueller@mueller-soehne.de", "rma@hengda-valves.com", "Broken valve", msgid="rma1@ms.de",
              extra="Delivered-To: rma@hengda-valves.com\n")
    import_messages(services.archive, iter([("x", raw)]))
    assert services.db.execute("SELECT mailbox, via FROM sightings").fetchall() == [
        ("support@hengda-valves.com", "rma@hengda-valves.com")
    ]


def test_threads_by_references_and_by_subject_fallback(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    first = eml("hans.weber@acme-trading.de", "inquiry@hengda-valves.com", "Ball valves", msgid="q1@acme-trading.de")
    reply = eml("amy@hengda-valves.com", "hans.weber@acme-trading.de", "Re: Ball valves", msgid="r1@hengda-valves.com",
                cc="inquiry@hengda-valves.com", date="Mon, 23 Nov 2026 10:00:00 +0800",
                extra="In-Reply-To: <q1@acme-trading.de>\nReferences: <q1@acme-trading.de>\n")
    no_refs = eml("einkauf@acme-trading.de", "amy@hengda-valves.com", "AW: Ball valves", msgid="q2@acme-trading.de",
                  date="Tue, 24 Nov 2026 09:00:00 +0100")
    other_customer = eml("erik@nordicflow.se", "inquiry@hengda-valves.com", "Re: Ball valves", msgid="n1@nordicflow.se")
    import_messages(services.archive, iter([("1", reply), ("2", first), ("3", no_refs), ("4", other_customer)]))
    rows = dict(services.db.execute("SELECT message_id, thread_id FROM messages").fetchall())
    assert rows["q1@acme-trading.de"] == rows["r1@hengda-valves.com"] == rows["q2@acme-trading.de"]
    assert rows["n1@nordicflow.se"] != rows["q1@acme-trading.de"]


def test_direction_and_customers(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    services_db = services.db
    mails = [
        eml("hans.weber@acme-trading.de", "inquiry@hengda-valves.com", "RFQ", msgid="in@acme-trading.de"),
        eml("amy@hengda-valves.com", "hans.weber@acme-trading.de", "Quote", msgid="out@hengda-valves.com"),
        eml("amy@hengda-valves.com", "sales-team@hengda-valves.com", "Meeting", msgid="int@hengda-valves.com"),
        eml("Ahmed <ahmed.trading2019@gmail.com>", "inquiry@hengda-valves.com", "Hi", msgid="g1@gmail.com"),
        eml("Someone <someone.else@gmail.com>", "inquiry@hengda-valves.com", "Hi", msgid="g2@gmail.com"),
    ]
    from bot.customers.book import load_crm

    load_crm(services_db, services.config, services.directory, "2026-11-25T00:00:00Z")
    import_messages(services.archive, ((str(i), m) for i, m in enumerate(mails)))
    rows = {r[0]: r[1:] for r in services_db.execute(
        "SELECT m.message_id, m.direction, m.person_id, c.name FROM messages m LEFT JOIN customers c ON c.id = m.customer_id")}
    assert rows["in@acme-trading.de"] == ("inbound", None, "Acme Trading GmbH")
    assert rows["out@hengda-valves.com"] == ("outbound", "amy", "Acme Trading GmbH")
    assert rows["int@hengda-valves.com"] == ("internal", "amy", None)
    assert rows["g1@gmail.com"][2] == "Ahmed Trading Est."
    assert rows["g2@gmail.com"][2] == "Someone"
    keys = dict(services_db.execute("SELECT key, customer_id FROM customer_keys").fetchall())
    assert "gmail.com" not in keys and "someone.else@gmail.com" in keys


def test_mbox_and_maildir_sources(tmp_path: Path) -> None:
    box = mailbox.mbox(str(tmp_path / "old.mbox"))
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    for i in range(3):
        raw = eml("a@customer.com", "order@hengda-valves.com", f"PO {i}", msgid=f"m{i}@customer.com")
        box.add(raw)
        maildir.add(raw)
    box.flush()
    assert len(list(read_messages(tmp_path / "old.mbox"))) == 3
    assert len(list(read_messages(tmp_path / "Maildir"))) == 3
    services = fresh_services(tmp_path / "cfg")
    assert import_messages(services.archive, read_messages(tmp_path / "old.mbox")).new == 3
    assert import_messages(services.archive, read_messages(tmp_path / "Maildir")).new == 0


def test_demo_archive_has_the_guides_shape(demo_services: Services) -> None:
    db = demo_services.db
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] >= 300
    per_mailbox = dict(db.execute("SELECT mailbox, count(*) FROM sightings GROUP BY mailbox").fetchall())
    for address in ("inquiry", "order", "support"):
        assert per_mailbox[f"{address}@hengda-valves.com"] > 30
    assert db.execute("SELECT count(*) FROM messages WHERE is_bounce = 1").fetchone()[0] >= 1
    assert db.execute("SELECT count(*) FROM messages WHERE is_list = 1").fetchone()[0] >= 1
    assert db.execute("SELECT count(*) FROM messages WHERE auto_submitted = 1 AND direction = 'outbound'").fetchone()[0] >= 1
    assert db.execute("SELECT count(*) FROM messages WHERE subject GLOB '*[一-龥]*'").fetchone()[0] >= 10
    attachments = json.loads(db.execute("SELECT attachments FROM messages WHERE has_attachments = 1 LIMIT 1").fetchone()[0])
    assert attachments[0]["name"].endswith(".pdf")


def test_parsing_in_a_helper_process_stores_the_same_archive(tmp_path: Path) -> None:
    from bot.demo.generator import generate

    mails = [(m.message_id, m.raw) for m in generate(NOW)]
    serial, helped = fresh_services(tmp_path / "serial"), fresh_services(tmp_path / "helped")
    one = import_messages(serial.archive, iter(mails), workers=1)
    two = import_messages(helped.archive, iter(mails), workers=2)
    assert (one.new, one.duplicates) == (two.new, two.duplicates) == (len(mails), 0)
    query = ("SELECT message_id, fingerprint, thread_id, customer_id, direction, category, category_confidence "
             "FROM messages ORDER BY id")
    assert serial.db.execute(query).fetchall() == helped.db.execute(query).fetchall()


def test_a_maildir_is_read_by_the_parse_helper(tmp_path: Path) -> None:
    """Large imports hand file names to the helper, which reads and parses them."""
    from bot.demo.generator import generate

    maildir = tmp_path / "Maildir"
    for part in ("cur", "new", "tmp"):
        (maildir / part).mkdir(parents=True)
    mails = generate(NOW)
    for i, mail in enumerate(mails):
        (maildir / "cur" / f"{i:05d}.demo:2,S").write_bytes(mail.raw)
    deferred = list(read_messages(maildir, deferred=True))
    assert {type(raw) for _where, raw in deferred} == {MessageFile}
    services = fresh_services(tmp_path)
    summary = import_messages(services.archive, iter(deferred), workers=2)
    assert (summary.new, summary.duplicates) == (len(mails), 0)
    assert import_messages(services.archive, read_messages(maildir)).new == 0


def test_a_file_that_cannot_be_read_stops_the_import_with_its_name(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    gone = str(tmp_path / "vanished.eml")
    for workers in (1, 2):
        with pytest.raises(MailroomError, match="vanished.eml: cannot read"):
            import_messages(services.archive, iter([("ok", eml("a@b.com", "inquiry@hengda-valves.com", "hi", msgid="x@b")),
                                                    (gone, MessageFile(gone))]), workers=workers)


def test_bulk_work_collects_garbage_rarely_then_restores_the_collector() -> None:
    import gc

    from bot.mail.parse_helper import rare_collections

    before = gc.get_threshold()
    with rare_collections():
        with rare_collections():
            assert gc.get_threshold()[0] == 100_000
        assert gc.get_threshold()[0] == 100_000
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_reply_with_thousands_of_references_is_threaded(tmp_path: Path) -> None:
    """Even where SQLite allows only 999 parameters per statement (builds before 3.32)."""
    import sqlite3

    services = fresh_services(tmp_path)
    services.db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    first = eml("hans@acme-trading.de", "inquiry@hengda-valves.com", "Valves", msgid="first@acme-trading.de")
    refs = " ".join(f"<junk-{i}@nowhere.invalid>" for i in range(5_000)) + " <first@acme-trading.de>"
    reply = eml("amy@hengda-valves.com", "hans@acme-trading.de", "Re: Valves", msgid="reply@hengda-valves.com",
                extra=f"References: {refs}\n")
    import_messages(services.archive, iter([("1", first), ("2", reply)]))
    threads = {row[0] for row in services.db.execute("SELECT thread_id FROM messages")}
    assert len(threads) == 1


class DieInHelper:
    """A parse step that kills the helper process (and does nothing in the parent)."""

    def __init__(self, parent: int):
        self.parent = parent

    def __call__(self, mail: object) -> None:
        import os

        if os.getpid() != self.parent:
            os._exit(3)


def test_a_dying_parse_helper_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    import os

    from bot.mail.parse_helper import parsed_batches
    from bot.mail.prepare import MailPreparer

    raws = [eml("a@b.com", "inquiry@hengda-valves.com", f"m{i}", msgid=f"m{i}@b.com") for i in range(6)]
    batches = [(n, list(enumerate(raws[n * 2:n * 2 + 2]))) for n in range(3)]
    out = list(parsed_batches(batches, MailPreparer((DieInHelper(os.getpid()),)), helper=True, name="test"))
    assert [tag for tag, _ in out] == [0, 1, 2]
    assert [mail.message_id for _, parsed in out for _, mail in parsed] == [f"m{i}@b.com" for i in range(6)]
    assert "parsing in this process from here on" in caplog.text
