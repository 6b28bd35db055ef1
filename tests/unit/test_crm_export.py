"""The CRM export as people really save it (issue 17 item 4): encodings, delimiters, headers, problems."""

import codecs
from pathlib import Path

import pytest

from bot.core.config import load_config
from bot.core.crm import CrmUnreadable, decode, read_crm
from bot.customers.book import CustomerBook, crm_problems, load_crm
from bot.demo.files import DEMO_FOLDER
from bot.services import Services
from tests.conftest import DEMO_NOW
from tests.fakes.asking import ask

DEMO_CSV = (DEMO_FOLDER / "customers.csv").read_text(encoding="utf-8")
NOW = "2026-11-25T02:00:00Z"


def demo_rows() -> list[tuple[str, list[str], list[str], str, str, list[str]]]:
    rows = read_crm(DEMO_FOLDER / "customers.csv").rows
    return [(r.name, r.domains, r.aliases, r.country, r.owner, r.contacts) for r in rows]


def semicolon_version(text: str) -> str:
    """What German Excel saves: ';' between columns, so lists inside a cell use ','."""
    lines = []
    for line in text.splitlines():
        cells = line.split(",")
        lines.append(";".join(cell.replace(";", ",") for cell in cells))
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "delimiter"),
    [
        ("utf-8", b"", ","),
        ("utf-8", codecs.BOM_UTF8, ","),
        ("gb18030", b"", ","),
        ("gbk", b"", ";"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "\t"),  # Excel "Unicode text"
        ("utf-16-be", codecs.BOM_UTF16_BE, ","),
        ("utf-16-le", b"", "\t"),
        ("utf-8", b"", ";"),
    ],
)
def test_every_common_encoding_and_delimiter_gives_the_same_rows(tmp_path: Path, encoding: str, bom: bytes,
                                                                delimiter: str) -> None:
    text = DEMO_CSV
    if delimiter == ";":
        text = semicolon_version(text)
    elif delimiter == "\t":
        text = text.replace(",", "\t")
    if encoding == "gbk":  # GBK proper cannot hold Ş or İ: what a Chinese Excel user would have
        text = text.replace("A.Ş.", "A.S.").replace("İstanbul", "Istanbul").replace("ö", "oe")
    path = tmp_path / "crm.csv"
    path.write_bytes(bom + text.encode(encoding))
    crm = read_crm(path)
    assert crm.delimiter == delimiter
    assert crm.problems == []
    got = [(r.name, r.domains, r.aliases, r.country, r.owner, r.contacts) for r in crm.rows]
    expected = demo_rows()
    if encoding == "gbk":
        assert len(got) == len(expected) and got[2] == expected[2]  # 深圳华通贸易有限公司 intact
    else:
        assert got == expected
    assert got[2][0] == "深圳华通贸易有限公司" and got[0][2] == ["Acme", "ACME Handel"]


def test_windows_1252_from_european_excel(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes("Name;Domain\r\nMüller & Söhne GmbH;mueller-soehne.de\r\nCafé Zürich AG;cafe.ch\r\n".encode("cp1252"))
    crm = read_crm(path)
    assert crm.encoding == "cp1252" and [r.name for r in crm.rows] == ["Müller & Söhne GmbH", "Café Zürich AG"]


def test_decode_prefers_utf8_and_recognises_gbk() -> None:
    assert decode("名称\n深圳华通\n".encode("gbk")) == ("名称\n深圳华通\n", "gb18030")
    assert decode("名称\n深圳华通\n".encode()) == ("名称\n深圳华通\n", "utf-8")


def test_chinese_headers_any_case_and_only_name_required(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("客户名称,域名,别名,国家,负责人,联系人邮箱,备注\n"
                    "深圳华通贸易有限公司,huatong-trade.cn,华通、Huatong,CN,chen,zhangwei@huatong-trade.cn,老客户\n",
                    encoding="utf-8")
    row = read_crm(path).rows[0]
    assert (row.name, row.domains, row.aliases, row.country, row.owner, row.contacts) == (
        "深圳华通贸易有限公司", ["huatong-trade.cn"], ["华通", "Huatong"], "CN", "chen", ["zhangwei@huatong-trade.cn"])
    only = tmp_path / "only.csv"
    only.write_text("Customer Name\nAcme Trading GmbH\n\nNordic Flow AB\n", encoding="utf-8")
    assert [r.name for r in read_crm(only).rows] == ["Acme Trading GmbH", "Nordic Flow AB"]
    upper = tmp_path / "upper.csv"
    upper.write_text("NAME,DOMAINS,Owner\nAcme,https://www.acme-trading.de/en,AMY\n", encoding="utf-8")
    row = read_crm(upper).rows[0]
    assert row.domains == ["acme-trading.de"] and row.owner == "AMY"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"domains,owner\nacme.de,amy\n", "no customer name column (name or \u5ba2\u6237\u540d\u79f0)"),
        (b"", "empty file"),
        (b"PK\x03\x04rest of a workbook", "Excel workbook, not CSV"),
    ],
)
def test_an_unusable_export_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "crm.csv"
    path.write_bytes(content)
    with pytest.raises(CrmUnreadable) as info:
        read_crm(path)
    assert expected in str(info.value) and str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


BAD_CSV = (
    "name,domains,owner,contacts,owner since\n"
    "Acme Trading GmbH,acme-trading.de,amy,hans.weber@acme-trading.de,2025-03-01\n"
    '"Acme Handel, Zweigstelle",acme-trading.de;acme-handel.de,ghost,"not-an-address;\n'
    'einkauf@acme-handel.de",2025-13-45\n'
    "Nordic Flow AB,gmail.com,Lucy Wang,erik@nordicflow.se,\n"
    ",orphan.com,amy,,\n"
)


def test_problems_name_file_line_and_column_and_keep_the_rest(tmp_path: Path, demo_dir: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    config = load_config(demo_dir / "mailroom.toml")
    crm = read_crm(path, people=config.people, free_mail=frozenset({"gmail.com"}))
    assert crm.problems == [
        f"{path}:3: column domains: domain acme-trading.de is already Acme Trading GmbH's (line 2): kept there, "
        "ignored here",
        f"{path}:3: column contacts: 'not-an-address' is not an e-mail address: ignored",
        f"{path}:3: column owner: owner 'ghost' is not in Mailroom's people list ([[people]] id, e-mail or name): "
        "the customer has no CRM owner",
        f"{path}:3: column owner since: '2025-13-45' is not a date (YYYY-MM-DD): ignored",
        f"{path}:5: column domains: gmail.com is a free-mail provider, not Nordic Flow AB's own domain: put the "
        "customer's addresses in the contacts column instead",
        f"{path}:6: column name: no customer name: row skipped",
    ]
    handel = crm.rows[1]
    assert handel.domains == ["acme-handel.de"] and handel.contacts == ["einkauf@acme-handel.de"]
    assert crm.rows[0].owner_since == "2025-03-01" and crm.rows[2].owner == "Lucy Wang"  # a name is a person too


def test_unknown_owner_is_named_by_owner_and_duplicates_do_not_steal(demo_services: Services) -> None:
    config = demo_services.config
    csv_path = config.resolve(config.customers.csv)  # type: ignore[arg-type]
    csv_path.write_text(
        "name,domains,owner,contacts,owner since\n"
        "Acme Trading GmbH,acme-trading.de,amy@hengda-valves.com,hans.weber@acme-trading.de,\n"
        "Brandneu Armaturen GmbH,brandneu-armaturen.de,Peter Schmidt,,\n"
        "Acme Copy,acme-trading.de,chen,,\n"
        "Nordic Flow AB,nordicflow.se,lucy,,2025-03-01\n",
        encoding="utf-8",
    )
    lines = crm_problems(config)
    assert len(lines) == 2 and all(line.startswith(f"{csv_path}:") for line in lines)
    assert ":3: column owner: owner 'Peter Schmidt' is not in Mailroom's people list" in lines[0]
    assert ":4: column domains: domain acme-trading.de is already Acme Trading GmbH's (line 2)" in lines[1]
    load_crm(demo_services.db, config, demo_services.directory, NOW)

    book = CustomerBook(demo_services.db, demo_services.directory)
    acme = book.find("someone@acme-trading.de")
    assert demo_services.db.execute("SELECT name FROM customers WHERE id = ?", [acme]).fetchone()[0] == \
        "Acme Trading GmbH"

    reply = ask(demo_services, "/owner Brandneu Armaturen")
    assert "the CRM names Peter Schmidt, who is not in Mailroom's people list" in reply.text
    assert "nobody" not in reply.text
    assert reply.data["details"]["crm_owner_unknown"] == "Peter Schmidt"

    acme_reply = ask(demo_services, "/owner Acme Trading GmbH")
    assert "Known from: CRM export (read 2026-11-25)" in acme_reply.text  # the day it was read, not "since"
    nordic = ask(demo_services, "/owner Nordic Flow AB")
    assert "Known from: CRM export (owner since 2025-03-01)" in nordic.text  # the CRM's own date column


def test_demo_export_has_no_problems(demo_services: Services) -> None:
    assert crm_problems(demo_services.config) == []
    assert DEMO_NOW.year == 2026


def test_adding_the_person_later_gives_the_customer_its_crm_owner(demo_services: Services) -> None:
    from bot.core.config import Person
    from bot.core.directory import Directory
    from bot.customers.book import load_crm_if_changed
    from bot.customers.ownership import owner_of

    config = demo_services.config
    csv_path = config.resolve(config.customers.csv)  # type: ignore[arg-type]
    csv_path.write_text("客户名称,域名,负责人\nBrandneu Armaturen GmbH,brandneu-armaturen.de,Peter Schmidt\n",
                        encoding="gb18030")
    assert load_crm_if_changed(demo_services.db, config, demo_services.directory, NOW) == 1
    assert load_crm_if_changed(demo_services.db, config, demo_services.directory, NOW) == 0  # unchanged
    customer = CustomerBook(demo_services.db, demo_services.directory).find("x@brandneu-armaturen.de")
    assert customer is not None and owner_of(demo_services.db, customer) is None

    grown = config.model_copy(update={"people": [*config.people, Person(
        id="peter", name="Peter Schmidt", email="peter@hengda-valves.com", teams=["sales"])]})
    grown.source = config.source
    assert load_crm_if_changed(demo_services.db, grown, Directory(grown), NOW) == 1  # the people list changed
    owner = owner_of(demo_services.db, customer)
    assert owner is not None and owner.person_id == "peter" and owner.source == "crm"


def test_an_inferred_owner_still_shows_whom_the_crm_names(demo_services: Services) -> None:
    config = demo_services.config
    csv_path = config.resolve(config.customers.csv)  # type: ignore[arg-type]
    csv_path.write_text("name,domains,owner\nPolska Armatura Sp. z o.o.,polarm.pl,Peter Schmidt\n", encoding="utf-8")
    load_crm(demo_services.db, config, demo_services.directory, NOW)
    reply = ask(demo_services, "/owner Polska Armatura")
    assert reply.data["details"]["source"] == "inferred"  # who has been answering still counts
    assert "Note: the CRM names Peter Schmidt, who is not in Mailroom's people list" in reply.text


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030", "utf-16"])
def test_the_header_check_reads_only_the_start_of_a_large_export(tmp_path: Path, encoding: str) -> None:
    rows = "".join(f"华通贸易{n},huatong{n}.cn,amy\n" for n in range(20_000))  # about 600 KB in UTF-8
    path = tmp_path / "customers.csv"
    path.write_bytes(("客户名称,域名,负责人\n" + rows).encode(encoding))
    header = read_crm(path, header_only=True)
    whole = read_crm(path)
    assert path.stat().st_size > 8 * 64 * 1024
    assert (header.columns, header.delimiter, header.encoding) == (whole.columns, whole.delimiter, whole.encoding)
    assert header.rows == [] and len(whole.rows) == 20_000


def test_the_header_check_never_reads_past_the_start(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    rows = "".join(f"Acme {n},acme{n}.de,amy\n" for n in range(20_000))
    path.write_bytes(("name,domain,owner\n" + rows).encode() + "Müller GmbH,mueller.de,li\n".encode("cp1252"))
    assert read_crm(path, header_only=True).encoding == "utf-8"  # the Windows-1252 row at the end is not read
    assert read_crm(path).encoding == "cp1252"
