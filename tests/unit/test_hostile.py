"""No single e-mail stops the archive: hostile mail is bounded and stored with its defects, junk is skipped."""

import email
import email.policy
import json
import os
import time
from pathlib import Path

import pytest

from bot.core.config import Limits
from bot.mail.html_text import html_to_text
from bot.mail.importer import import_messages
from bot.mail.parse import ParsedMail, decode_header, degraded_mail, parse_mail
from bot.mail.parse_helper import parsed_batches
from bot.mail.prepare import MailPreparer, NotMail, not_mail
from bot.mail.sources import MessageHead, read_messages
from bot.store.db import write_transaction
from tests.fakes import hostile_mail as hostile
from tests.unit.test_import import eml, fresh_services

INQUIRY = "inquiry@hengda-valves.com"


# ── isolation ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("make", [hostile.deep_nesting, hostile.self_rfc822])
def test_nesting_beyond_what_the_parser_can_recurse_is_stored_with_its_headers(make: object) -> None:
    raw = make(3000)  # type: ignore[operator]
    mail = parse_mail(raw)
    assert mail.message_id.endswith("@evil.example") and mail.from_addr == "x@evil.example"
    assert mail.size == len(raw)
    assert any("RecursionError" in d and "unreadable message" in d for d in mail.defects), mail.defects


def test_500_deep_multiparts_are_read_to_the_depth_limit() -> None:
    mail = parse_mail(hostile.deep_nesting(500))
    assert mail.subject == "nested 500"
    assert "limit: MIME parts nested deeper than 50 levels not read" in mail.defects


def test_degraded_reading_takes_what_the_header_block_gives() -> None:
    raw = eml("Hans <hans@acme-trading.de>", INQUIRY, "=?utf-8?q?Gr=C3=BC=C3=9Fe?=", msgid="d1@acme-trading.de")
    mail = degraded_mail(raw, "TestError: boom")
    assert (mail.message_id, mail.from_addr, mail.subject, mail.size) == ("d1@acme-trading.de", "hans@acme-trading.de",
                                                                           "Grüße", len(raw))
    assert mail.defects[0].startswith("unreadable message (TestError: boom)")
    assert degraded_mail(b"\xff\x00garbage", "x").message_id.startswith("sha256-")


def test_a_message_sqlite_refuses_is_stored_degraded_and_the_batch_goes_on(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    good = [parse_mail(eml("a@b.com", INQUIRY, f"ok {i}", msgid=f"ok{i}@b.com")) for i in range(3)]
    bad = parse_mail(eml("a@b.com", INQUIRY, "bad", msgid="bad@b.com"))
    bad.body = "lone surrogate \udc80 SQLite cannot encode"
    with services.archive.batch():
        outcomes = [services.archive.add_isolated(m, []) for m in (good[0], bad, good[1], good[2])]
    assert outcomes == ["new"] * 4
    rows = dict(services.db.execute("SELECT message_id, defects FROM messages").fetchall())
    assert set(rows) == {"ok0@b.com", "ok1@b.com", "ok2@b.com", "bad@b.com"}
    assert "storing it failed (UnicodeEncodeError" in rows["bad@b.com"]



class DieOn:
    """A parse step that kills the helper process on messages whose subject holds `word`."""

    def __init__(self, parent: int, word: str):
        self.parent, self.word = parent, word

    def __call__(self, mail: object) -> None:
        if os.getpid() != self.parent and self.word in mail.subject:  # type: ignore[attr-defined]
            os._exit(9)


def test_a_message_that_kills_the_parse_helper_is_quarantined_and_its_batch_stored() -> None:
    raws = [eml("a@b.com", INQUIRY, "poison" if i == 4 else f"m{i}", msgid=f"m{i}@b.com") for i in range(9)]
    batches = [(n, list(enumerate(raws[n * 3:n * 3 + 3]))) for n in range(3)]
    out = list(parsed_batches(batches, MailPreparer((DieOn(os.getpid(), "poison"),)), helper=True, name="test"))
    mails = [mail for _tag, parsed in out for _key, mail in parsed]
    assert [m.message_id for m in mails] == [f"m{i}@b.com" for i in range(9)]  # type: ignore[union-attr]
    poisoned = mails[4]
    assert any("crashed the parse helper twice" in d and "quarantined" in d for d in poisoned.defects)  # type: ignore[union-attr]
    assert all(not m.defects for i, m in enumerate(mails) if i != 4)  # type: ignore[union-attr]


# ── bounds ───────────────────────────────────────────────────────────────────────────────────


def test_100k_references_import_in_under_a_second_first_and_last_kept(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    raw = hostile.many_references(100_000)
    started = time.perf_counter()
    summary = import_messages(services.archive, iter([("refs", raw)]))
    took = time.perf_counter() - started
    assert summary.new == 1 and took < 1.0, took
    refs, defects = services.db.execute("SELECT refs, defects FROM messages").fetchone()
    refs = json.loads(refs)
    assert len(refs) == 100 and refs[0] == "ref-0@nowhere.invalid" and refs[-1] == "ref-99999@nowhere.invalid"
    assert "limit: 100,000 References, the first 10 and last 90 kept" in defects


def test_every_bound_is_recorded_as_a_defect() -> None:
    cases = {
        hostile.huge_body(39): "limit: text of",
        hostile.many_recipients(5000): "limit: To lists",
        hostile.many_parts(3000): "limit: more than 1,000 MIME parts",
        hostile.many_headers(5000): "limit: 5,005 header fields",
        hostile.giant_header_line(300_000): "limit: 1 header field(s) longer than 100,000",
    }
    for raw, expected in cases.items():
        mail = parse_mail(raw)
        assert any(d.startswith(expected) for d in mail.defects), (expected, mail.defects)
    assert len(parse_mail(hostile.huge_body(39)).body) == 1_000_000
    assert len(parse_mail(hostile.many_recipients(5000)).to) == 1000
    assert len(parse_mail(hostile.many_parts(3000)).attachments) == 500
    assert len(parse_mail(hostile.giant_header_line(300_000)).subject) == 100_000


def test_bounds_come_from_the_config() -> None:
    limits = Limits(references=20, recipients=10, body_chars=5000, attachments=3, mime_parts=50, mime_depth=5)
    assert len(parse_mail(hostile.many_references(1000), limits).references) == 20
    assert len(parse_mail(hostile.many_recipients(100), limits).to) == 10
    assert len(parse_mail(hostile.huge_body(1), limits).body) == 5000
    assert len(parse_mail(hostile.many_parts(40), limits).attachments) == 3
    assert "limit: MIME parts nested deeper than 5 levels not read" in parse_mail(hostile.deep_nesting(20), limits).defects



def test_a_message_over_the_byte_limit_from_imap_or_mbox_is_parsed_only_to_it() -> None:
    head = eml("Hans <hans@acme-trading.de>", INQUIRY, "big", msgid="big@acme-trading.de", body="Drawing attached.")
    raw = head + b"A" * (3 << 20)
    mail = MailPreparer(limits=Limits(message_bytes=1 << 20))(raw)
    assert isinstance(mail, ParsedMail)
    assert (mail.message_id, mail.size) == ("big@acme-trading.de", len(raw))
    assert mail.body.startswith("Drawing attached.") and len(mail.body) < 1 << 20
    assert f"message cut: only its first 1,048,576 of {len(raw):,} bytes were read ([limits] message_bytes)" \
        in mail.defects
    small = MailPreparer(limits=Limits(message_bytes=1 << 20))(head)
    assert isinstance(small, ParsedMail) and not any("message cut" in d for d in small.defects)

# ── HTML ─────────────────────────────────────────────────────────────────────────────────────


def test_html_comments_scripts_styles_and_attributes_never_reach_the_text() -> None:
    text = html_to_text('<p title="a>b">Hello</p><!-- x > y -->World')
    assert text == "Hello\n\nWorld"
    body = parse_mail(hostile.hostile_html()).body
    for leak in ("a>b", "x > y", "color", "var s", "<p>", "title"):
        assert leak not in body
    assert "Item | Qty\nValve DN50 | 100" in body  # a table row per line
    assert "- first\n- second" in body
    assert "the PO <https://acme.example/po>" in body  # the link's target kept
    assert "& <more>" in body and "line two" in body and "unclosed markup" in body


@pytest.mark.parametrize(("markup", "expected"), [
    ("a<br>b<br/><br>c", "a\nb\n\nc"),
    ("<ol><li>one<li>two</ol>", "1. one\n2. two"),
    ("<pre>  keep\n    this</pre>", "keep\n    this"),
    ("x&nbsp;&amp;&euro;&#x4e2d;", "x &€中"),
    ("<div>" * 20_000 + "deep" + "</div>" * 20_000, "deep"),
    ("<table><tr><th>a<th>b<tr><td>1<td>2</table>", "a | b\n1 | 2"),
    ("<a href='https://x.test/a'>https://x.test/a</a>", "https://x.test/a"),
    ("<html><head><title>T</title></head><body><style>b{}</style>text</body>", "text"),
], ids=["br", "ol", "pre", "entities", "20k-nested", "table", "link-as-text", "head-style"])
def test_html_structure_becomes_plain_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


# ── encoded words ────────────────────────────────────────────────────────────────────────────

ENCODED_HEADERS = [
    "=?utf-8?b?5oqV6K+J77ya5YyF6KOF56C05o2f77yM5ZCI6aG155Sf6ZSI?=\n PO-2026-0311",
    "=?utf-8?b?5oqV6K+J?=\r\n =?utf-8?b?5YyF6KOF?=",
    "=?utf-8?q?a?= =?utf-8?q?b?=",
    "=?utf-8?q?a?=  \t =?iso-8859-1?q?=E9?=",
    "Re: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus\n Berlin",
    "plain\n folded\n\tthree times",
    "=?utf-8?q?x?= y =?utf-8?q?z?=",
    "=?gb2312?b?suK7+Q==?= =?gb2312?b?suK7+Q==?= end",
    "=?utf-8?b?5Lit?==?utf-8?b?5paH?=",
    "word=?utf-8?q?inside?=",
    "=?UTF-8?Q?multi_word_subject?=",
]


@pytest.mark.parametrize("value", ENCODED_HEADERS)
def test_encoded_words_decode_like_the_standard_parser(value: str) -> None:
    """RFC 5322 unfolding keeps whitespace; RFC 2047 drops only whitespace between two encoded words."""
    raw = f"Subject: {value}\n\nx\n".encode()
    stdlib = str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"])
    ours = decode_header(email.message_from_bytes(raw)["Subject"], [], "Subject")
    assert ours == " ".join(stdlib.split())
    assert parse_mail(raw).subject == ours


def test_the_issue_s_folded_subject_keeps_its_space() -> None:
    assert parse_mail(hostile.folded_encoded_subject()).subject == "投诉：包装破损，合页生锈 PO-2026-0311"


# ── files that are not mail ──────────────────────────────────────────────────────────────────


def test_junk_files_are_named_with_a_reason() -> None:
    reasons = {name: not_mail(data) for name, data in hostile.JUNK.items()}
    assert reasons["photo.jpg"] == "a JPEG image" and reasons["scan.pdf"] == "a PDF document"
    assert reasons["empty.eml"] == "an empty file" and "binary data" in (reasons["random.bin"] or "")
    assert "Outlook" in (reasons["mail.msg"] or "") and "export" in (reasons["mail.msg"] or "")
    assert all(not_mail(raw) is None for raw in hostile.hostile_set().values())


def test_a_folder_with_hostile_and_junk_files_imports_every_message(tmp_path: Path) -> None:
    normal = {f"saved-without-extension-{i}": eml("hans@acme-trading.de", INQUIRY, f"RFQ {i}", msgid=f"n{i}@acme-trading.de")
              for i in range(5)}
    folder = tmp_path / "old mail"
    hostile.write_folder(folder, normal)
    (folder / ".hidden").write_bytes(b"Subject: hidden\n\nx\n")
    (folder / "Thumbs.db").write_bytes(b"\x00" * 10)
    services = fresh_services(tmp_path / "cfg")
    files = list(read_messages(folder, deferred=True))
    assert len(files) == len(normal) + len(hostile.hostile_set()) + len(hostile.JUNK)
    for workers in (1, 2):
        summary = import_messages(services.archive, iter(files), workers=workers)
        assert summary.read == len(files)
        assert {Path(w).name for w, _ in summary.skipped} == set(hostile.JUNK)
        assert "skipped 6 files that are not mail: " in summary.line() and "mail.msg (an Outlook .msg" in summary.line()
    ids = {row[0] for row in services.db.execute("SELECT message_id FROM messages")}
    assert {f"n{i}@acme-trading.de" for i in range(5)} <= ids
    assert services.db.execute("SELECT count(*) FROM messages").fetchone()[0] == len(normal) + len(hostile.hostile_set())
    assert isinstance(MailPreparer(sniff=True)(b""), NotMail)


def test_an_mbox_among_the_files_of_a_folder_is_read_message_by_message(tmp_path: Path) -> None:
    import mailbox

    folder = tmp_path / "export"
    folder.mkdir()
    box = mailbox.mbox(str(folder / "Inbox"))
    for i in range(3):
        box.add(eml("a@customer.com", INQUIRY, f"PO {i}", msgid=f"mbox{i}@customer.com"))
    box.flush()
    (folder / "single.eml").write_bytes(eml("a@customer.com", INQUIRY, "one", msgid="single@customer.com"))
    services = fresh_services(tmp_path / "cfg")
    summary = import_messages(services.archive, read_messages(folder, deferred=True), workers=2)
    assert (summary.read, summary.new) == (4, 4)


def test_an_mbox_message_over_the_byte_limit_is_read_only_that_far(tmp_path: Path) -> None:
    import mailbox

    box = mailbox.mbox(str(tmp_path / "Inbox"))
    big = eml("a@customer.com", INQUIRY, "drawings", msgid="big@customer.com", body="See drawings.\n" + "A" * (3 << 20))
    for raw in (eml("a@customer.com", INQUIRY, "PO 1", msgid="m1@customer.com"), big,
                eml("a@customer.com", INQUIRY, "PO 2", msgid="m2@customer.com")):
        box.add(raw)
    box.flush()
    whole = dict(read_messages(tmp_path / "Inbox"))
    bounded_read = dict(read_messages(tmp_path / "Inbox", max_bytes=1 << 20))
    assert list(whole) == list(bounded_read)
    first, middle, last = bounded_read.values()
    assert (first, last) == (whole[next(iter(whole))], list(whole.values())[2])
    assert isinstance(middle, MessageHead)
    assert len(middle.data) == 1 << 20 and middle.size == len(list(whole.values())[1])
    assert list(whole.values())[1].startswith(middle.data)


def big_with_attachment(newline: bytes) -> bytes:
    import base64

    lines = [b"From: Hans <hans@acme-trading.de>", f"To: {INQUIRY}".encode(), b"Subject: drawings",
             b"Date: Mon, 23 Nov 2026 08:00:00 +0800", b"Message-ID: <cut@acme-trading.de>", b"MIME-Version: 1.0",
             b'Content-Type: multipart/mixed; boundary="b"', b"", b"--b", b"Content-Type: text/plain", b"",
             b"Drawings attached.", b"--b", b"Content-Type: application/pdf",
             b'Content-Disposition: attachment; filename="drawing.pdf"', b"Content-Transfer-Encoding: base64", b""]
    encoded = base64.encodebytes(bytes(range(256)) * (3 << 12)).splitlines()
    return newline.join([*lines, *encoded, b"--b--", b""])


def test_copies_of_one_message_cut_at_different_places_are_one_message(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    preparer = MailPreparer(limits=Limits(message_bytes=1 << 20))
    from_file, from_imap = preparer(big_with_attachment(b"\n")), preparer(big_with_attachment(b"\r\n"))
    whole = MailPreparer()(big_with_attachment(b"\n"))
    assert isinstance(from_file, ParsedMail) and isinstance(from_imap, ParsedMail) and isinstance(whole, ParsedMail)
    assert len({from_file.fingerprint, from_imap.fingerprint, whole.fingerprint}) == 3  # the cut lands elsewhere
    with services.archive.batch():
        outcomes = [services.archive.add_isolated(m, []) for m in (whole, from_file, from_imap)]
    assert outcomes == ["new", "duplicate", "duplicate"]
    assert services.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1


# ── indexes ──────────────────────────────────────────────────────────────────────────────────


def messages_to(mailbox: str, *numbers: int) -> list[tuple[str, bytes]]:
    return [(f"m{n}", eml("hans@acme-trading.de", mailbox, f"PO {n} valve order", msgid=f"m{n}@acme-trading.de"))
            for n in numbers]


def defects_by_id(services: object) -> dict[str, list[str]]:
    rows = services.db.execute("SELECT message_id, defects FROM messages")  # type: ignore[attr-defined]
    return {message_id: json.loads(defects) for message_id, defects in rows}


def test_a_message_the_search_index_cannot_take_gets_a_defect_and_the_index_moves_past_it(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    import_messages(services.archive, messages_to(INQUIRY, 0))
    second_next = services.db.execute("SELECT max(id) FROM messages").fetchone()[0] + 2
    with write_transaction(services.db):  # SQLite itself refuses to index the next batch's second message
        services.db.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON search_days WHEN NEW.min_id <= {second_next} "
                            f"AND NEW.max_id >= {second_next} BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")

    assert import_messages(services.archive, messages_to(INQUIRY, 1, 2, 3)).new == 3
    assert import_messages(services.archive, messages_to(INQUIRY, 4)).new == 1

    defects = defects_by_id(services)
    assert [d[:1] for d in defects.values()].count([]) == 4
    assert defects["m2@acme-trading.de"] == ["not in the search index (IntegrityError: refused by a trigger)"]
    indexed = {row[0] for row in services.db.execute("SELECT rowid FROM search_fts")}
    ids = dict(services.db.execute("SELECT message_id, id FROM messages"))
    assert indexed == {ids[f"m{n}@acme-trading.de"] for n in (0, 1, 3, 4)}
    assert services.search.index.backlog() == 0


def test_a_message_the_categories_cannot_sort_gets_a_defect_and_the_rest_are_sorted(tmp_path: Path) -> None:
    services = fresh_services(tmp_path)
    order = "order@hengda-valves.com"
    import_messages(services.archive, messages_to(order, 0))
    second_next = services.db.execute("SELECT max(id) FROM messages").fetchone()[0] + 2
    assert import_messages(services.archive, messages_to(order, 1, 2, 3)).new == 3
    with write_transaction(services.db):  # sorted again from the queue (as after a new sighting), and SQLite
        services.db.execute(  # itself refuses to sort one of them
            f"CREATE TRIGGER refuse BEFORE UPDATE OF category ON messages WHEN NEW.id = {second_next} "
            "AND NEW.category IS NOT NULL BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
        services.db.execute("UPDATE messages SET category = NULL, category_confidence = NULL")
        services.db.execute("INSERT INTO category_queue (message) SELECT id FROM messages")
        services.rules.categories.drain()

    defects = defects_by_id(services)
    assert defects["m2@acme-trading.de"] == ["not sorted into a category (IntegrityError: refused by a trigger)"]
    sorted_ = dict(services.db.execute("SELECT message_id, category FROM messages"))
    assert all(sorted_[f"m{n}@acme-trading.de"] for n in (0, 1, 3)) and sorted_["m2@acme-trading.de"] is None
    assert services.db.execute("SELECT count(*) FROM category_queue").fetchone()[0] == 0
