"""Filters (`mailbox:`, `customer:`, `category:`, `after:`, `before:`, `has:`, `in:`) as SQL conditions.

A condition is written with `{id}` for the candidate message's id, so the same text works whether the
query is driven by the FTS index (`search_fts.rowid`) or by the messages table (`m.id`). Conditions
that read other columns of the message (`m.date`, `m.category`, …) are marked and make the engine
join `messages m`. Dates also narrow the candidates' id range through `search_days` (the smallest
and largest message id of each day), which FTS5 applies before reading anything.
`from:` and `to:` are not here: they are FTS column filters on the indexed sender and recipients.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz, process, utils
from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.directory import Directory
from bot.core.durations import parse_duration
from bot.search.query import Filters, QueryError
from bot.search.text import strip_accents

SENT_FOLDERS = ("sent", "sent items", "sent messages", "sent mail", "已发送", "已发送邮件", "gesendet")
ATTACHMENT_WORDS = ("attachment", "attachments", "attach", "file", "files", "附件")
ID_LIST_MAX = 1000
"""Up to this many messages, a customer filter becomes an id list that FTS5 looks up one by one."""
_DAY = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


@dataclass
class Condition:
    sql: str
    params: list[object]
    needs_message: bool = False
    """True when the SQL reads the message row (`m.`), so the engine must join `messages m`."""


@dataclass
class Conditions:
    items: list[Condition] = field(default_factory=list)
    id_low: int | None = None
    id_high: int | None = None
    id_list: list[int] | None = None
    """A small set of candidate ids (a customer's mail), newest first."""
    empty: bool = False
    """True when the filters alone already rule out every message (e.g. a date range with no mail)."""

    def add(self, sql: str, *params: object, needs_message: bool = False) -> None:
        self.items.append(Condition(sql, list(params), needs_message))

    @property
    def any(self) -> bool:
        return bool(self.items) or self.id_list is not None or self.empty

    @property
    def needs_message(self) -> bool:
        return any(c.needs_message for c in self.items)

    def sql(self, id_expr: str, *, fts: bool) -> tuple[list[str], list[object]]:
        """`+{id}` keeps FTS5 from treating an id set as rowid lookups (one full query per id)."""
        plus = f"+{id_expr}" if fts else id_expr
        parts = [c.sql.replace("+{id}", plus).replace("{id}", id_expr) for c in self.items]
        params = [p for c in self.items for p in c.params]
        if self.id_list:
            parts.append(f"{id_expr} IN ({', '.join('?' for _ in self.id_list)})")
            params.extend(self.id_list)
        return parts, params


def compile_filters(filters: Filters, *, customers: "CustomerNames", directory: Directory, now: datetime,
                    db: Database) -> Conditions:
    cond = Conditions()
    if filters.mailbox:
        addresses = [_mailbox(directory, name) for name in filters.mailbox]
        marks = ", ".join("?" for _ in addresses)
        cond.add(f"EXISTS (SELECT 1 FROM sightings s WHERE s.message = {{id}} AND s.mailbox IN ({marks}))", *addresses)
    if filters.customer:
        ids = sorted({cid for name in filters.customer for cid in customers.find(name)})
        if not ids:
            raise QueryError(f"no customer matches {', '.join(filters.customer)!r}")
        marks = ", ".join("?" for _ in ids)
        found = [r[0] for r in db.execute(
            f"SELECT id FROM messages WHERE customer_id IN ({marks}) LIMIT {ID_LIST_MAX + 1}", ids)]
        if len(found) <= ID_LIST_MAX:
            # few messages: FTS5 looks each one up (cheaper than reading a common word's whole doclist)
            cond.id_list = sorted(found, reverse=True)
            cond.empty = cond.empty or not found
        else:  # many: one id set, checked while FTS5 reads its matches (the + stops per-id lookups)
            cond.add(f"+{{id}} IN (SELECT id FROM messages WHERE customer_id IN ({marks}))", *ids)
    if filters.category:
        parts = " OR ".join("lower(coalesce(m.category, '')) LIKE ? ESCAPE '\\'" for _ in filters.category)
        cond.add(f"({parts})", *(_like_prefix(c) for c in filters.category), needs_message=True)
    zone = ZoneInfo(directory.config.organization.timezone)
    if filters.after:
        start = iso(day_start(filters.after, now=now, zone=zone, key="after"))
        cond.add("m.date >= ?", start, needs_message=True)
        row = db.execute("SELECT min(min_id) FROM search_days WHERE day >= ?", [start[:10]]).fetchone()
        cond.id_low = row[0]
        cond.empty = cond.empty or row[0] is None
    if filters.before:
        end = iso(day_start(filters.before, now=now, zone=zone, key="before"))
        cond.add("m.date < ?", end, needs_message=True)
        row = db.execute("SELECT max(max_id) FROM search_days WHERE day <= ?", [end[:10]]).fetchone()
        cond.id_high = row[0]
        cond.empty = cond.empty or row[0] is None
    for value in filters.has:
        if value not in ATTACHMENT_WORDS:
            raise QueryError(f"has:{value} — only has:attachment is known")
        cond.add("m.has_attachments = 1", needs_message=True)
    for value in filters.folder:
        if value == "sent":
            marks = ", ".join("?" for _ in SENT_FOLDERS)
            cond.add(
                "(m.direction = 'outbound' OR EXISTS (SELECT 1 FROM sightings s WHERE s.message = {id} "
                f"AND lower(s.folder) IN ({marks})))",
                *SENT_FOLDERS, needs_message=True,
            )
        elif value == "inbox":
            cond.add("m.direction = 'inbound'", needs_message=True)
        else:
            cond.add("EXISTS (SELECT 1 FROM sightings s WHERE s.message = {id} AND lower(s.folder) = ?)", value)
    return cond


def _mailbox(directory: Directory, name: str) -> str:
    mailbox = directory.mailbox_by_name(name)
    if mailbox is None:  # an alias by its local part: mailbox:rma → support@
        local = name.lower().rstrip("@")
        target = next((a.target for a in directory.config.aliases if a.address.split("@")[0] == local), None)
        mailbox = directory.mailboxes.get(target) if target else None
    if mailbox is None:
        known = ", ".join(m.local_part for m in directory.config.mailboxes)
        raise QueryError(f"mailbox:{name} — no such mailbox (known: {known})")
    return mailbox.address


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def day_start(value: str, *, now: datetime, zone: ZoneInfo, key: str) -> datetime:
    """'2026-01-01', '2026-01', '2026', 'today', 'yesterday' or a span back from now ('7d', '2w')."""
    text = value.strip().lower()
    local_now = now.astimezone(zone)
    if text in ("today", "yesterday"):
        day = local_now.date() - timedelta(days=1 if text == "yesterday" else 0)
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    match = _DAY.match(text)
    if match:
        year, month, mday = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
        try:
            return datetime(year, month, mday, tzinfo=zone).astimezone(UTC)
        except ValueError:
            raise QueryError(f"{key}:{value} is not a real date") from None
    try:
        return now - parse_duration(text)
    except ValueError:
        raise QueryError(f"{key}:{value} — use a date like 2026-01-31, or a span like 7d or 2w") from None


class CustomerNames:
    """Customer names, aliases, domains and contacts, folded once and cached until customers change."""

    def __init__(self, db: Database):
        self.db = db
        self._stamp: tuple[int, int] | None = None
        self._labels: dict[int, list[str]] = {}
        self._names: dict[int, str] = {}

    def _load(self) -> None:
        stamp = tuple(self.db.execute("SELECT coalesce(max(id), 0), count(*) FROM customers").fetchone())
        if stamp == self._stamp:
            return
        labels: dict[int, list[str]] = {}
        names: dict[int, str] = {}
        for cid, name, aliases, domains, contacts in self.db.execute(
            "SELECT id, name, aliases, domains, contacts FROM customers"
        ):
            texts = [name, *_list(aliases), *_list(domains), *_list(contacts)]
            labels[cid] = [strip_accents(t) for t in texts if t]
            names[cid] = name
        self._labels, self._names, self._stamp = labels, names, stamp

    def names(self) -> dict[int, str]:
        """Customer id → name (reloaded when customers changed)."""
        self._load()
        return self._names

    def find(self, name: str) -> list[int]:
        """Customers whose name, alias, domain or contact contains the text (accents and case ignored);
        failing that, the closest by fuzzy match (typos such as 'acme trdng')."""
        wanted = strip_accents(name).strip()
        if not wanted:
            return []
        self._load()
        exact = [cid for cid, texts in self._labels.items() if any(wanted in t for t in texts)]
        if exact:
            return exact
        choices = {(cid, i): text for cid, texts in self._labels.items() for i, text in enumerate(texts)}
        found = process.extract(wanted, choices, scorer=fuzz.WRatio, processor=utils.default_process,
                                score_cutoff=85, limit=5)
        return sorted({key[0] for _text, _score, key in found})


def _list(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
