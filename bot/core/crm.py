"""The CRM export as people really save it: any common encoding, delimiter and header wording.

Excel on Chinese Windows saves GB18030/GBK, "Unicode text" is UTF-16 with tabs, German Excel uses `;`,
and every CRM names its columns its own way (客户名称, Customer Name, DOMAIN). `read_crm` detects the
encoding and the delimiter, maps headers case-insensitively (English and Chinese), and requires only a
name column. Every row-level problem — a malformed e-mail, a domain given to two customers, an owner who
is not a configured person — is one line `FILE:LINE: column COL: what`, and never stops the bot: the
row is loaded without the bad value.
"""

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # bot.core.config reads the export through this module
    from bot.core.config import Person

MAX_CRM_BYTES = 64 * 1024 * 1024
"""A CRM export larger than this is refused (a customer list of 64 MB is not a customer list)."""
GB_SAMPLE = 64 * 1024
"""Bytes looked at to tell GBK from Windows-1252 (the rest of an export is the same kind)."""
MAX_PROBLEMS = 200
"""Problem lines kept per file; the rest are counted in one last line."""

FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "customer", "customer name", "customer_name", "company", "company name", "account",
             "account name", "客户名称", "客户名", "客户", "公司名称", "公司", "名称"),
    "domains": ("domains", "domain", "email domain", "email domains", "website", "web", "域名", "邮箱域名", "网站"),
    "aliases": ("aliases", "alias", "short name", "also known as", "别名", "简称"),
    "country": ("country", "country/region", "nation", "国家", "国家/地区", "国家地区", "地区"),
    "owner": ("owner", "account owner", "owner email", "sales", "salesperson", "sales rep", "sales email",
              "负责人", "负责人邮箱", "业务员", "销售", "跟进人"),
    "contacts": ("contacts", "contact", "contact email", "contact emails", "email", "emails", "e-mail",
                 "联系人邮箱", "联系邮箱", "邮箱", "电子邮箱", "邮件"),
    "owner_since": ("owner since", "owner_since", "since", "assigned", "assigned on", "assigned at",
                    "分配日期", "分配时间", "负责日期", "起始日期"),
}
_HEADER_TO_FIELD = {alias.replace(" ", "").replace("_", "").replace("-", ""): name
                    for name, aliases in FIELDS.items() for alias in aliases}
_EMAIL = re.compile(r"^[^@\s,;<>\"']+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%Y年%m月%d日", "%Y%m%d")


@dataclass
class CrmCustomer:
    """One row of the CRM export."""

    name: str
    domains: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    country: str = ""
    owner: str = ""
    contacts: list[str] = field(default_factory=list)
    owner_since: str | None = None
    """The CRM's own date for the owner (ISO date), when the export has such a column."""
    line: int = 0


@dataclass
class CrmFile:
    """What one read of the export gave: rows, problems (one line each), and how the file was read."""

    path: Path
    rows: list[CrmCustomer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    columns: dict[str, str] = field(default_factory=dict)
    """Mailroom field → the header it was read from."""

    def problem(self, line: int, column: str, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{self.path}:{line}: column {column}: {text}")
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append(f"{self.path}: more problems not shown")


class CrmUnreadable(ValueError):
    """The file cannot be used at all (not found, not text, no name column): one line."""


# ── encoding and delimiter ─────────────────────────────────────────────────────────────────────

def decode(raw: bytes) -> tuple[str, str]:
    """(text, encoding name): BOMs first, then UTF-16 without BOM, UTF-8, GB18030, Windows-1252."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace"), "utf-16"
    sample = raw[:4096]
    if len(sample) >= 4 and sample.count(0) * 3 >= len(sample):  # UTF-16 without a BOM: every other byte 0
        even_zeros = sample[0::2].count(0)
        odd_zeros = sample[1::2].count(0)
        encoding = "utf-16-le" if odd_zeros >= even_zeros else "utf-16-be"
        return raw.decode(encoding, errors="replace"), encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _looks_like_gb(raw[:GB_SAMPLE]):
        try:
            return raw.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    return raw.decode("cp1252", errors="replace"), "cp1252"


def _looks_like_gb(raw: bytes) -> bool:
    """GBK/GB18030 text (Chinese) has its bytes ≥ 0x80 in pairs — lead 0x81-0xFE, trail 0x40-0xFE, mostly
    ≥ 0xA1 — or in GB18030's four-byte form (lead, digit, lead, digit). A European Windows-1252 export has
    single accented letters followed by ASCII ('Müller' = 4D FC 6C ...)."""
    good = bad = 0.0
    i, n = 0, len(raw)
    while i < n:
        byte = raw[i]
        if byte < 0x80:
            i += 1
            continue
        trail = raw[i + 1] if i + 1 < n else 0
        if 0x81 <= byte <= 0xFE and 0x30 <= trail <= 0x39 and i + 3 < n and 0x81 <= raw[i + 2] <= 0xFE \
                and 0x30 <= raw[i + 3] <= 0x39:
            good += 1
            i += 4
        elif 0x81 <= byte <= 0xFE and 0xA1 <= trail <= 0xFE:
            good += 1
            i += 2
        elif 0x81 <= byte <= 0xFE and 0x80 <= trail <= 0xA0:
            good += 0.5  # GBK's extension area: valid, rarer
            i += 2
        else:  # lead byte then ASCII (0x40-0x7E is valid GBK but is what 'ü' + letter looks like)
            bad += 1
            i += 1
    return good > 0 and good >= 4 * bad


def _header_bytes(path: Path) -> bytes:
    """The start of the file, enough for its header line (and for telling its encoding): the first
    GB_SAMPLE bytes, cut after their last line end so that no character is cut in two."""
    with path.open("rb") as file:
        raw = file.read(GB_SAMPLE)
    if len(raw) == GB_SAMPLE and b"\n" in raw:
        raw = raw[: raw.rindex(b"\n") + 1]
    return raw


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of the header line: tab, ';' or ',' — whichever occurs most outside quotes."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: outside.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text.strip().strip("\ufeff").strip('"').lower())


# ── reading ────────────────────────────────────────────────────────────────────────────────────

def read_crm(path: Path, *, people: "list[Person] | None" = None, free_mail: frozenset[str] = frozenset(),
             header_only: bool = False) -> CrmFile:
    """Read and check the export. Raises CrmUnreadable when it cannot be used at all.

    With `people`, an owner who is none of them (by id, e-mail or name) is a problem line; the owner
    name stays on the row so that /owner can say whom the CRM names."""
    result = CrmFile(path=path)
    try:
        size = path.stat().st_size
        if size > MAX_CRM_BYTES:
            raise CrmUnreadable(f"{path}: {size // (1024 * 1024)} MB is too large for a CRM export "
                                f"(at most {MAX_CRM_BYTES // (1024 * 1024)} MB)")
        raw = _header_bytes(path) if header_only else path.read_bytes()
    except FileNotFoundError:
        raise CrmUnreadable(f"{path}: file not found") from None
    except OSError as exc:
        raise CrmUnreadable(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise CrmUnreadable(f"{path}: this is an Excel workbook, not CSV: save it as CSV (UTF-8 or GBK)")
    text, result.encoding = decode(raw)
    first = next((line for line in io.StringIO(text) if line.strip()), None)
    if first is None:
        raise CrmUnreadable(f"{path}: empty file (a header line with at least a name column is expected)")
    result.delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=result.delimiter)
    header: list[str] = []
    for record in reader:
        if any(cell.strip() for cell in record):
            header = record
            break
    header_line = reader.line_num
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = _HEADER_TO_FIELD.get(_header_key(cell))
        if name and name not in index:
            index[name] = i
            result.columns[name] = cell.strip().strip("\ufeff")
    if "name" not in index:
        shown = ", ".join(repr(h.strip()) for h in header[:8]) or "(nothing)"
        raise CrmUnreadable(f"{path}:{header_line}: no customer name column (name or 客户名称); the header "
                            f"has {shown}")
    if not header_only:
        _read_rows(result, reader, index, people, free_mail)
    return result


def _read_rows(result: CrmFile, reader: Any, index: dict[str, int], people: "list[Person] | None",
               free_mail: frozenset[str]) -> None:
    named = people_by_name(people) if people is not None else None
    list_split = re.compile(r"[|;；、\n]+" if result.delimiter != ";" else r"[|,，、\n]+")
    address_split = re.compile(r"[\s|;,；，、]+")
    domain_owner: dict[str, tuple[str, int]] = {}
    contact_owner: dict[str, tuple[str, int]] = {}
    col = result.columns
    previous_end = reader.line_num
    try:
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            cells = {key: record[i].strip() if i < len(record) else "" for key, i in index.items()}
            cell = cells.get

            name = cell("name", "")
            if not name:
                result.problem(line, col["name"], "no customer name: row skipped")
                continue
            row = CrmCustomer(name=name[:300], line=line, country=cell("country", "")[:100],
                              aliases=[a.strip()[:300] for a in list_split.split(cell("aliases", "")) if a.strip()][:50])
            for value in address_split.split(cell("domains", "").lower()):
                domain = _domain(value)
                if not value:
                    continue
                if domain is None:
                    result.problem(line, col["domains"], f"{value[:80]!r} is not a mail domain: ignored")
                elif domain in free_mail:
                    result.problem(line, col["domains"], f"{domain} is a free-mail provider, not {name}'s own "
                                   "domain: put the customer's addresses in the contacts column instead")
                elif domain in domain_owner and domain_owner[domain][0] != name:
                    other, other_line = domain_owner[domain]
                    result.problem(line, col["domains"], f"domain {domain} is already {other}'s (line "
                                   f"{other_line}): kept there, ignored here")
                elif domain not in row.domains:
                    domain_owner.setdefault(domain, (name, line))
                    row.domains.append(domain)
            for value in address_split.split(cell("contacts", "").lower()):
                if not value:
                    continue
                value = value.strip("<>\"'")
                if not _EMAIL.match(value):
                    result.problem(line, col["contacts"], f"{value[:80]!r} is not an e-mail address: ignored")
                elif value in contact_owner and contact_owner[value][0] != name:
                    other, other_line = contact_owner[value]
                    result.problem(line, col["contacts"], f"contact {value} is already {other}'s (line "
                                   f"{other_line}): kept there, ignored here")
                elif value not in row.contacts:
                    contact_owner.setdefault(value, (name, line))
                    row.contacts.append(value)
            owner = cell("owner", "")[:200]
            if owner:
                row.owner = owner
                if named is not None and find_owner(owner, named) is None:
                    result.problem(line, col["owner"], f"owner {owner!r} is not in Mailroom's people list "
                                   "([[people]] id, e-mail or name): the customer has no CRM owner")
            since = cell("owner_since", "")
            if since:
                parsed = parse_crm_date(since)
                if parsed is None:
                    result.problem(line, col["owner_since"], f"{since[:40]!r} is not a date (YYYY-MM-DD): ignored")
                else:
                    row.owner_since = parsed.isoformat()
            result.rows.append(row)
    except csv.Error as exc:
        result.problem(reader.line_num, "-", f"CSV error, the rest of the file is skipped: {exc}")


def _domain(value: str) -> str | None:
    """'acme.de', '@acme.de', 'https://www.acme.de/en' and 'info@acme.de' all give 'acme.de'."""
    value = value.strip().strip("<>\"'").lower()
    value = re.sub(r"^[a-z]+://", "", value).split("/", 1)[0]
    if "@" in value:
        value = value.rpartition("@")[2]
    value = value.removeprefix("www.").rstrip(".")
    return value if _DOMAIN.match(value) else None


def parse_crm_date(text: str) -> date | None:
    text = text.strip()
    for candidate in (text, text.split(" ")[0], text.split("T")[0]):
        for fmt in _DATE_FORMATS:
            try:
                day = datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
            return day if 1970 <= day.year <= 2199 else None
    return None


def people_by_name(people: "Iterable[Person]") -> "dict[str, Person]":
    """Every way a CRM owner cell (or a command) may name a person — id, e-mail, display name, mailbox
    name — lower-cased; when two people share a name, the first configured wins."""
    found: dict[str, Person] = {}
    for person in people:
        for key in (person.id.lower(), person.email, person.name.lower(), person.email.split("@")[0]):
            found.setdefault(key, person)
    return found


def find_owner(owner: str, people: "dict[str, Person]") -> "Person | None":
    """The person a CRM owner cell names, in `people_by_name(...)`, case-insensitively."""
    return people.get(owner.strip().lower())
