"""The parser on real-world breakage: every message parses, problems become defects."""

import base64
from pathlib import Path

import pytest

from bot.mail.parse import normalize_subject, parse_mail
from tests.conftest import DATA

CORPUS = DATA / "corpus"


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_raw_8bit_gb2312_headers_decode_to_chinese() -> None:
    raw = (
        "From: 张伟 <zw@huatong-trade.cn>\nTo: inquiry@hengda-valves.com\nSubject: 询价 不锈钢球阀\n"
        "Content-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit\n\n请报价,需要发票。\n"
    ).encode("gb2312")
    mail = parse_mail(raw)
    assert mail.subject == "询价 不锈钢球阀"
    assert mail.from_name == "张伟"
    assert "发票" in mail.body
    assert "Subject header: raw 8-bit bytes" in mail.defects


def test_unknown_charset_alias_x_gbk_in_encoded_word() -> None:
    encoded = base64.b64encode("补发通知".encode("gbk")).decode()
    mail = parse_mail(f"From: a@b.com\nSubject: =?x-gbk?B?{encoded}?=\n\nhi\n".encode())
    assert mail.subject == "补发通知"


def test_iso_2022_jp_and_shift_jis_from_real_suites() -> None:
    assert parse_mail(corpus("imap-tools__0069__tests_messages_multi_charset_japanese_iso_2022.eml")).subject == "まみむめも"
    body = parse_mail(corpus("imap-tools__0070__tests_messages_multi_charset_japanese_shift_jis.eml")).body
    assert "このメールはテスト用のメールです" in body


def test_big5_declared_charset_is_tried_for_raw_subject() -> None:
    mail = parse_mail(corpus("imap-tools__0028__tests_messages_error_emails_content_transfer_encoding_empty.eml"))
    assert mail.subject and "\ufffd" not in mail.subject


def test_unknown_charset_recorded_as_defect_not_raised() -> None:
    mail = parse_mail(corpus("imap-tools__0081__tests_messages_plain_emails_raw_email10.eml"))
    assert "Test test" in mail.body
    assert any("x-unknown" in d for d in mail.defects)


def test_broken_boundary_is_archived_with_defects() -> None:
    mail = parse_mail(corpus("enmime__0006__testdata_low-quality_bad-final-boundary.raw.eml"))
    assert mail.message_id
    assert mail.defects


def test_delivery_report_is_a_bounce() -> None:
    mail = parse_mail(corpus("enmime__0004__dsn_testdata_simple_dsn.raw.eml"))
    assert mail.is_bounce


def test_html_only_mail_becomes_text() -> None:
    mail = parse_mail(corpus("enmime__0010__testdata_low-quality_html-only-inline.raw.eml"))
    assert mail.body and "<" not in mail.body


def test_missing_message_id_and_date_get_stable_stand_ins() -> None:
    raw = b"From: a@example.org\nTo: b@example.org\nSubject: no id\n\nbody\n"
    first, second = parse_mail(raw), parse_mail(b"Received: from x by y; Mon, 1 Jun 2026 10:00:00 +0000\n" + raw)
    assert first.message_id == second.message_id
    assert first.message_id.startswith("sha256-")
    assert "no Message-ID: id derived from content" in first.defects
    assert second.date is not None and second.date.year == 2026


def test_huge_attachment_size_is_measured_without_keeping_bytes() -> None:
    payload = base64.encodebytes(b"\0" * 3_000_000).decode()
    raw = (
        "From: a@b.com\nSubject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=XX\n\n"
        "--XX\nContent-Type: text/plain\n\nsee attached\n--XX\nContent-Type: application/zip\n"
        f"Content-Disposition: attachment; filename=\"drawings.zip\"\nContent-Transfer-Encoding: base64\n\n{payload}--XX--\n"
    ).encode()
    mail = parse_mail(raw)
    assert [a.name for a in mail.attachments] == ["drawings.zip"]
    assert abs(mail.attachments[0].size - 3_000_000) < 10
    assert mail.body == "see attached"


def test_auto_reply_and_list_flags() -> None:
    auto = parse_mail(b"From: support@x.com\nAuto-Submitted: auto-replied\nSubject: Auto: hi\n\nthanks\n")
    human = parse_mail(b"From: support@x.com\nAuto-Submitted: no\nSubject: hi\n\nthanks\n")
    bulk = parse_mail(b"From: news@x.com\nPrecedence: bulk\nSubject: weekly\n\nnews\n")
    assert auto.auto_submitted and not human.auto_submitted
    assert bulk.is_list


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("RE: Fwd: PO 4521", "po 4521"),
        ("AW: WG: Angebot", "angebot"),
        ("回复：报价单", "报价单"),
        ("答复: 转发: 发票", "发票"),
        ("Re[2]: SV: Quote", "quote"),
    ],
)
def test_subject_normalisation(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def test_every_copied_corpus_file_parses() -> None:
    files = sorted(Path(CORPUS).glob("*.eml"))
    assert len(files) >= 10
    for file in files:
        assert parse_mail(file.read_bytes()).message_id, file.name
