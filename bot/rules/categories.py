"""Sorting order@ and support@ mail into the guide's categories, with a confidence.

order@: `po` (PO / contract), `delivery` (delivery dates / production scheduling), `shipping` (B/L,
invoice, packing list, customs), `exception` (delays / rescheduling / changes) — from weighted English
and Chinese keywords in the subject (×3), attachment names (×2) and the sender's own text (×1).
Exceptions weigh most: "Delivery date change / 交期变更" is about a change, not a delivery date.

support@: mail that came in through an alias keeps the alias as its sub-type (rma@ → `rma`,
confidence 1); replies in such a thread inherit it (0.9); other support@ mail is sorted by keywords.

Corrections (`/category`) are kept as examples. A later message whose subject (Re: stripped, digits
masked) is close to a corrected one — rapidfuzz token_sort_ratio ≥ `example_score` — gets a bonus for
the corrected category larger than any single keyword, so one correction changes how that kind of
mail is sorted from then on, and the reason is easy to show ("like the corrected #123").

Confidence = (top / (top + runner-up)) × (top / (top + 2)): high only when one category clearly leads
on enough evidence; a lone weak word in the body gives about 0.33.
"""

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.config import Person
from bot.core.directory import Directory
from bot.core.errors import CommandError
from bot.core.permissions import Permissions, has_role
from bot.mail.archive import note_defect, sightings_for
from bot.mail.parse import ParsedMail
from bot.rules.settings import ORDER_CATEGORIES, Rules
from bot.rules.text import KeywordTable, example_key, file_words, merge, own_text
from bot.store.audit import AuditLog
from bot.store.db import one_by_one_on_failure, write_transaction

if TYPE_CHECKING:
    from bot.mail.archive import PrepareHook, Sighting

SUBJECT_WEIGHT, FILE_WEIGHT, BODY_WEIGHT = 3.0, 2.0, 1.0
log = logging.getLogger(__name__)
EXAMPLE_BONUS = 12.0
CHUNK = 500
PREPARED_KEY = "categories"
DECIDED_KEY = "categories.decided"

ORDER_WORDS: dict[str, dict[str, float]] = {
    "po": {
        **dict.fromkeys(["purchase order", "po confirmation", "order confirmation", "confirm the order", "confirm our order",
                         "new order", "sales contract", "contract", "proforma invoice", "proforma", "pro forma",
                         "采购订单", "订单确认", "确认订单", "新订单", "合同", "下单", "形式发票", "销售确认书"], 3.0),
        **dict.fromkeys(["po", "p/o", "order", "pi", "signed", "countersigned", "订单", "签字", "盖章", "回签"], 1.0),
    },
    "delivery": {
        **dict.fromkeys(["delivery date", "delivery time", "lead time", "production schedule", "production plan",
                         "production status", "production progress", "etd", "ready date", "when ready",
                         "交期", "交货期", "货期", "排产", "生产计划", "生产进度", "交货时间", "出货时间", "船期"], 3.0),
        **dict.fromkeys(["delivery", "schedule", "production", "生产", "交货", "进度"], 1.0),
    },
    "shipping": {
        **dict.fromkeys(["b/l", "bill of lading", "commercial invoice", "packing list", "shipping documents",
                         "shipping document", "customs", "customs clearance", "certificate of origin", "form e",
                         "loading plan", "container loading", "telex release", "shipping advice", "booking",
                         "提单", "提单号", "发票", "箱单", "装箱单", "报关", "清关", "原产地证", "装柜", "装柜计划",
                         "出货文件", "电放", "订舱", "集装箱", "报关单"], 3.0),
        **dict.fromkeys(["invoice", "shipment", "shipping", "container", "vessel", "eta", "forwarder", "loaded",
                         "货代", "出货", "发货", "出运"], 1.0),
    },
    "exception": {
        **dict.fromkeys(["delay", "delayed", "delays", "postpone", "postponed", "reschedule", "rescheduled",
                         "rescheduling", "date change", "delivery date change", "delivery change", "change of delivery",
                         "change of delivery date", "change the delivery", "moves by", "delivery delay",
                         "advance the shipment", "ship earlier", "earlier shipment", "cancel", "cancelled",
                         "cancellation", "shortage", "force majeure", "延期", "推迟", "改期", "延误", "交期变更",
                         "变更", "异常", "提前出货", "提前", "取消", "缺货", "停产", "不可抗力"], 4.0),
        **dict.fromkeys(["urgent", "problem", "issue", "change", "earlier", "紧急", "问题"], 2.0),
    },
}
ORDER_FILE_WORDS: dict[str, dict[str, float]] = {
    "po": dict.fromkeys(["po", "pi", "sc", "contract", "order", "合同", "订单"], 2.0),
    "delivery": dict.fromkeys(["schedule", "production plan", "排产", "生产计划"], 2.0),
    "shipping": dict.fromkeys(["bl", "b l", "ci", "pl", "inv", "invoice", "packing", "packing list", "coo", "form e",
                               "提单", "发票", "箱单", "报关", "装柜"], 2.0),
    "exception": dict.fromkeys(["delay", "change", "变更", "延期"], 2.0),
}
SUPPORT_WORDS: dict[str, dict[str, float]] = {
    "rma": dict.fromkeys(["rma", "return", "returns", "repair", "send back", "replace the unit", "warranty",
                          "退货", "退换", "返修", "维修", "退回", "保修"], 3.0),
    "complaint": dict.fromkeys(["complaint", "claim", "leaking", "leak", "defect", "defective", "broken", "damaged",
                                "quality problem", "quality issue", "not working", "投诉", "质量问题", "漏水", "损坏",
                                "破损", "不良", "索赔"], 3.0),
    "spare": dict.fromkeys(["spare part", "spare parts", "spares", "replacement part", "gasket", "seal kit",
                            "配件", "备件", "补发", "零件", "密封圈"], 3.0),
}


Scores = dict[str, float]


@dataclass(frozen=True)
class Sorted:
    category: str | None
    confidence: float
    reason: str = ""


@dataclass(frozen=True)
class Example:
    key: str
    category: str
    message: int


def confidence(scores: dict[str, float]) -> tuple[str | None, float]:
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] <= 0:
        return None, 0.0
    top_label, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return top_label, round((top / (top + second)) * (top / (top + 2.0)), 2)


class Categorizer:
    """Pure sorting (no database): keyword tables plus the correction examples given to it."""

    def __init__(self, rules: Rules, examples: Iterable[tuple[str, Example]] = ()):
        self.rules = rules
        extra = rules.categories.keywords
        self.order = KeywordTable(merge(ORDER_WORDS, {k: v for k, v in extra.items() if k in ORDER_CATEGORIES}))
        self.order_files = KeywordTable(ORDER_FILE_WORDS)
        self.support = KeywordTable(merge(SUPPORT_WORDS, {k: v for k, v in extra.items() if k not in ORDER_CATEGORIES}))
        self.examples: dict[str, list[Example]] = {"order": [], "support": []}
        for group, example in examples:
            self.examples.setdefault(group, []).append(example)

    def keyword_scores(self, group: str, subject: str, body: str, files: list[str]) -> Scores:
        """The keyword part of sorting (no examples): a pure function of the text, so it can run in the
        parse helper."""
        if group == "order":
            return self._scores(self.order, self.order_files, subject, body, files)
        return self._scores(self.support, self.support, subject, body, files)

    @staticmethod
    def _scores(table: KeywordTable, file_table: KeywordTable, subject: str, body: str,
                files: list[str]) -> dict[str, float]:
        scores = dict.fromkeys(table.labels, 0.0)
        names = " ".join(file_words(n) for n in files)
        for weight, found in ((SUBJECT_WEIGHT, table.scores(subject)), (BODY_WEIGHT, table.scores(own_text(body))),
                              (FILE_WEIGHT, file_table.scores(names))):
            for label, score in found.items():
                scores[label] = scores.get(label, 0.0) + weight * score
        return scores

    def decide(self, group: str, subject: str, keyword_scores: Scores) -> Sorted:
        """The category from the keyword scores plus the bonus of a close correction example."""
        scores = dict(keyword_scores)
        reason = "keywords"
        example = self.nearest(subject, group)
        if example is not None:
            found, score = example
            scores[found.category] = scores.get(found.category, 0.0) + EXAMPLE_BONUS * score / 100
            reason = f"like corrected #{found.message}"
        label, conf = confidence(scores)
        return Sorted(label, conf, reason if label else "no signal")

    def nearest(self, subject: str, group: str) -> tuple[Example, float] | None:
        examples = self.examples.get(group) or []
        key = example_key(subject)
        if not examples or len(key) < 4:
            return None
        found = process.extractOne(key, [e.key for e in examples], scorer=fuzz.token_sort_ratio,
                                   score_cutoff=self.rules.categories.example_score)
        if found is None:
            return None
        return examples[found[2]], float(found[1])


class ParseTimeScores:
    """The parse-time step (see Archive.preparer): keyword scores of the group — order or support —
    the message will be sorted in, known from the mailbox an import or sync files it under, or found
    from its headers as the archive does. Stored as `mail.prepared["categories"] = (group, scores)`;
    the writer uses them when its own decision names the same group and scores the text otherwise."""

    def __init__(self, categorizer: Categorizer, directory: Directory, mailbox: str | None):
        self.categorizer = categorizer
        self.directory = directory
        self.group = self._group([(mailbox, None)]) if mailbox else None
        self.fixed = mailbox is not None

    def __call__(self, mail: ParsedMail) -> None:
        group = self.group if self.fixed else self._group([(s.mailbox, s.via) for s in sightings_for(self.directory, mail)])
        if group is not None:
            files = [a.name for a in mail.attachments]
            mail.prepared[PREPARED_KEY] = (group, self.categorizer.keyword_scores(group, mail.subject, mail.body, files))

    def _group(self, seen: list[tuple[str, str | None]]) -> str | None:
        group = mail_group(self.categorizer.rules, seen)
        return group if group in ("order", "support") else None  # via an alias: sorted by the alias


def mail_group(rules: Rules, seen: Iterable[tuple[str, str | None]]) -> str | None:
    """How mail seen in these (mailbox, via) is sorted: "order" (keywords, order@ wins), "alias" (the
    support alias it came through), "support" (keywords), or None (neither kind of mailbox)."""
    seen = list(seen)
    if any(mailbox in rules.order_mailboxes for mailbox, _via in seen):
        return "order"
    if any(via in rules.support_subtypes for _mailbox, via in seen if via):
        return "alias"
    return "support" if any(mailbox in rules.support_mailboxes for mailbox, _via in seen) else None


def load_examples(db: Database, rules: Rules) -> list[tuple[str, Example]]:
    """The latest correction per message, grouped by the kind of mailbox it was made in."""
    rows = db.execute(
        "SELECT c.message, c.mailbox, c.category, c.example FROM category_corrections c "
        "WHERE c.id = (SELECT max(id) FROM category_corrections WHERE message = c.message) ORDER BY c.id"
    ).fetchall()
    out = []
    for message, mailbox, category, key in rows:
        group = "order" if mailbox in rules.order_mailboxes else "support"
        out.append((group, Example(key, category, message)))
    return out


class CategoryService:
    """Writes `messages.category` / `category_confidence` for order@ and support@ mail."""

    def __init__(self, db: Database, rules: Rules, directory: Directory, permissions: Permissions, audit: AuditLog):
        """`directory`, `permissions` and `audit`: who may correct a category (`correct`), and its audit entry."""
        self.db = db
        self.rules = rules
        self.directory = directory
        self.permissions = permissions
        self.audit = audit
        self._categorizer: Categorizer | None = None
        self._corrections_seen = -1

    @property
    def boxes(self) -> list[str]:
        return [*self.rules.order_mailboxes, *self.rules.support_mailboxes]

    def categorizer(self) -> Categorizer:
        count = self.db.execute("SELECT count(*), coalesce(max(id), 0) FROM category_corrections").fetchone()
        marker = count[0] * 1_000_003 + count[1]
        if self._categorizer is None or marker != self._corrections_seen:
            self._categorizer = Categorizer(self.rules, load_examples(self.db, self.rules))
            self._corrections_seen = marker
        return self._categorizer

    # -- the Archive hooks ---------------------------------------------------------------------
    def prepare_hook(self, directory: Directory) -> "PrepareHook":
        """For Archive.preparer: the keyword scoring moves to where mail is parsed (the parse helper)."""
        def hook(mailbox: str | None) -> ParseTimeScores | None:
            if not self.rules.categories.enabled or not self.boxes:
                return None
            if mailbox is not None and mailbox not in self.boxes:
                return None
            return ParseTimeScores(Categorizer(self.rules), directory, mailbox)
        return hook

    def categorize_new(self, mail: ParsedMail, sightings: list["Sighting"], thread_id: int) -> Sorted | None:
        """Archive hook, before a new message's row is written: its category, so the row is written once
        (rewriting it later rewrites its whole body). None when it is not order or support mail, or was
        not scored at parse time; the queue (filled by the sighting trigger) then decides as always."""
        seen = {(s.mailbox, s.via) for s in sightings if s.mailbox in self.boxes}
        prepared = mail.prepared.get(PREPARED_KEY)
        if not seen or prepared is None or not self.rules.categories.enabled:
            return None
        files = [a.name for a in mail.attachments]
        decided = self.sort_one(self.categorizer(), 0, list(seen), mail.subject, mail.body, files, thread_id,
                                prepared)  # type: ignore[arg-type]
        mail.prepared[DECIDED_KEY] = seen
        return decided

    def index_new(self, db: Database, message_ids: list[int], mails: Mapping[int, ParsedMail] | None = None) -> None:
        """Archive indexer (inside the batch's transaction): sort whatever the sighting trigger queued."""
        if message_ids:
            mails = mails or {}
            prepared = {pk: mail.prepared[PREPARED_KEY] for pk, mail in mails.items() if PREPARED_KEY in mail.prepared}
            decided = {pk: mail.prepared[DECIDED_KEY] for pk, mail in mails.items() if DECIDED_KEY in mail.prepared}
            self.drain(prepared, decided)  # type: ignore[arg-type]

    def drain(self, prepared: Mapping[int, tuple[str, Scores]] | None = None,
              decided: Mapping[int, set[tuple[str, str | None]]] | None = None) -> int:
        """Sort every queued message seen in an order or support mailbox; empty the queue. No commit.
        `decided`: messages sorted as their row was written, with the sightings they were sorted by."""
        if not self.rules.categories.enabled:
            self.db.execute("DELETE FROM category_queue")
            return 0
        done = 0

        def sort(ids: Sequence[int]) -> None:
            nonlocal done
            done += self.sort_messages(list(ids), prepared, decided)

        while True:
            queued = [r[0] for r in self.db.execute("SELECT message FROM category_queue ORDER BY message LIMIT ?",
                                                    [CHUNK])]
            if not queued:
                return done
            one_by_one_on_failure(self.db, "category_sort", queued, sort, _not_sorted(self.db))
            marks = ", ".join("?" for _ in queued)
            self.db.execute(f"DELETE FROM category_queue WHERE message IN ({marks})", queued)

    def backfill(self, *, everything: bool = False) -> int:
        """Sort archived mail: the not yet sorted (or, with `everything`, all of it again). No commit."""
        boxes = self.boxes
        if not boxes:
            return 0
        marks = ", ".join("?" for _ in boxes)
        where = "" if everything else "AND m.category_confidence IS NULL"
        ids = [r[0] for r in self.db.execute(
            f"SELECT DISTINCT s.message FROM sightings s JOIN messages m ON m.id = s.message "
            f"WHERE s.mailbox IN ({marks}) {where} ORDER BY s.message", boxes)]
        done = 0
        for start in range(0, len(ids), CHUNK):
            done += self.sort_messages(ids[start:start + CHUNK])
        return done

    def sort_messages(self, ids: list[int], prepared: Mapping[int, tuple[str, Scores]] | None = None,
                      decided: Mapping[int, set[tuple[str, str | None]]] | None = None) -> int:
        """Sort these messages (those not in an order/support mailbox are left alone); returns how many.
        `prepared`: keyword scores computed at parse time; `decided`: messages already sorted with these
        sightings (left as they are unless they have more now). Rows are rewritten only when they change."""
        boxes = self.boxes
        if not ids or not boxes:
            return 0
        marks = ", ".join("?" for _ in ids)
        box_marks = ", ".join("?" for _ in boxes)
        sightings: dict[int, list[tuple[str, str | None]]] = {}
        for message, mailbox, via in self.db.execute(
            f"SELECT message, mailbox, via FROM sightings WHERE message IN ({marks}) AND mailbox IN ({box_marks})",
            [*ids, *boxes],
        ):
            sightings.setdefault(message, []).append((mailbox, via))
        decided = decided or {}
        done = len([pk for pk, seen in sightings.items() if decided.get(pk) == set(seen)])
        sightings = {pk: seen for pk, seen in sightings.items() if decided.get(pk) != set(seen)}
        if not sightings:
            return done
        wanted = list(sightings)
        marks = ", ".join("?" for _ in wanted)
        corrected = {r[0]: r[1] for r in self.db.execute(
            f"SELECT c.message, c.category FROM category_corrections c WHERE c.message IN ({marks}) "
            "AND c.id = (SELECT max(id) FROM category_corrections WHERE message = c.message)", wanted)}
        prepared = prepared or {}
        body_column = "NULL" if all(pk in prepared for pk in wanted) else "body"
        rows = self.db.execute(
            f"SELECT id, subject, {body_column}, attachments, thread_id, category, category_confidence "
            f"FROM messages WHERE id IN ({marks})", wanted
        ).fetchall()
        categorizer = self.categorizer()
        updates = []
        for pk, subject, body, attachments, thread_id, category, confidence in rows:
            if pk in corrected:
                result = Sorted(corrected[pk], 1.0)
            else:
                result = self.sort_one(categorizer, pk, sightings[pk], subject, body, _names(attachments), thread_id,
                                       prepared.get(pk))
            if (result.category, result.confidence) != (category, confidence):
                updates.append((result.category, result.confidence, pk))
        self.db.conn.executemany("UPDATE messages SET category = ?, category_confidence = ? WHERE id = ?", updates)
        return done + len(rows)

    def sort_one(self, categorizer: Categorizer, pk: int, seen: list[tuple[str, str | None]], subject: str,
                 body: str | None, files: list[str], thread_id: int | None,
                 prepared: tuple[str, Scores] | None = None) -> Sorted:
        def scores(group: str) -> Scores:
            if prepared is not None and prepared[0] == group:
                return prepared[1]
            text = body if body is not None else self._body(pk)
            return categorizer.keyword_scores(group, subject, text, files)

        group = mail_group(self.rules, seen)
        if group == "order":
            return categorizer.decide("order", subject, scores("order"))
        if group == "alias":
            via = next(via for _mailbox, via in seen if via in self.rules.support_subtypes)
            return Sorted(self.rules.support_subtypes[via], 1.0, f"via {via}")
        inherited = self._thread_subtype(thread_id, pk)
        if inherited:
            return Sorted(inherited, 0.9, "thread came in through the alias")
        return categorizer.decide("support", subject, scores("support"))

    def _body(self, pk: int) -> str:
        row = self.db.execute("SELECT body FROM messages WHERE id = ?", [pk]).fetchone()
        return str(row[0] or "") if row else ""

    def _thread_subtype(self, thread_id: int | None, pk: int) -> str | None:
        if thread_id is None or not self.rules.support_subtypes:
            return None
        row = self.db.execute(
            "SELECT s.via FROM messages m JOIN sightings s ON s.message = m.id "
            "WHERE m.thread_id = ? AND m.id <> ? AND s.via IS NOT NULL ORDER BY m.date, m.id LIMIT 1",
            [thread_id, pk],
        ).fetchone()
        return self.rules.support_subtypes.get(row[0]) if row else None

    # -- /category -----------------------------------------------------------------------------
    def correct(self, person: Person, ref: str, category: str, now: datetime) -> dict[str, object]:
        """Set one message's category by hand (audited) and keep it as an example for later sorting."""
        row = _load(self.db, ref)
        if row is None:
            raise CommandError(f"No message {ref}.", code="not_found")
        pk, message_id, subject, old = row
        boxes = [r[0] for r in self.db.execute("SELECT DISTINCT mailbox FROM sightings WHERE message = ?", [pk])]
        mailbox = next((b for b in boxes if b in self.rules.order_mailboxes), None) or next(
            (b for b in boxes if b in self.rules.support_mailboxes), None)
        if mailbox is None:
            raise CommandError(f"Message #{pk} is not in an order or support mailbox: it has no category.",
                               code="no_category")
        if not may_correct(self.directory, self.permissions, person, mailbox):
            raise CommandError(f"Only a lead or the {mailbox.split('@')[0]}@ team may correct its categories.",
                               code="forbidden")
        allowed = self.rules.category_set(mailbox)
        category = category.strip().lower()
        if category not in allowed:
            raise CommandError(f"Unknown category {category!r} for {mailbox}: use one of {', '.join(allowed)}.",
                               code="bad_category")
        with write_transaction(self.db):
            audit_id = self.audit.record(person.id, "category",
                                         {"message": pk, "message_id": message_id, "from": old, "to": category},
                                         f"#{pk}: {old or 'none'} → {category}")
            self.db.execute(
                "INSERT INTO category_corrections (message, message_id, mailbox, old_category, category, example, by, at,"
                " audit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [pk, message_id, mailbox, old, category, example_key(subject), person.id, iso(now), audit_id],
            )
            self.db.execute("UPDATE messages SET category = ?, category_confidence = 1.0 WHERE id = ?", [category, pk])
        return {"id": pk, "message_id": message_id, "mailbox": mailbox, "from": old, "category": category,
                "audit_id": audit_id, "subject": subject}

    def items(self, *, mailbox: str | None = None, category: str | None = None,
              limit: int | None = None) -> list[dict[str, object]]:
        """The `mailroom categories --json` rows: message_id, mailbox, category, confidence (newest first)."""
        boxes = [mailbox] if mailbox else self.boxes
        if not boxes:
            return []
        marks = ", ".join("?" for _ in boxes)
        sql = (f"SELECT m.id, m.message_id, s.mailbox, m.category, m.category_confidence, m.subject, m.date, s.via "
               f"FROM sightings s JOIN messages m ON m.id = s.message WHERE s.mailbox IN ({marks})")
        params: list[object] = list(boxes)
        if category:
            sql += " AND m.category = ?"
            params.append(category)
        sql += " ORDER BY m.date DESC, m.id DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        corrected = {r[0] for r in self.db.execute("SELECT DISTINCT message FROM category_corrections")}
        seen: set[int] = set()
        items = []
        for pk, message_id, box, cat, conf, subject, date, via in self.db.execute(sql, params):
            if pk in seen:
                continue
            seen.add(pk)
            items.append({"id": pk, "message_id": message_id, "mailbox": box, "category": cat,
                          "confidence": conf if conf is not None else 0.0, "subject": subject, "date": date,
                          "via": via, "corrected": pk in corrected})
        return items


def may_correct(directory: Directory, permissions: Permissions, person: Person, mailbox: str) -> bool:
    """Leads (and above), or any member of the mailbox's own team — who may read the mailbox: the answer
    names the message's subject."""
    box = directory.mailboxes.get(mailbox)
    in_team = box is not None and box.team is not None and box.team in person.teams
    return (in_team or has_role(person, "lead")) and permissions.can(person, "read", mailbox)


def _load(db: Database, ref: str) -> tuple[int, str, str, str | None] | None:
    key = ref.strip().lstrip("#")
    if key.isdigit():
        row = db.execute("SELECT id, message_id, subject, category FROM messages WHERE id = ?", [int(key)]).fetchone()
    else:
        row = db.execute("SELECT id, message_id, subject, category FROM messages WHERE message_id = ?",
                         [key.strip("<>")]).fetchone()
    return tuple(row) if row else None


def _not_sorted(db: Database) -> Callable[[int, Exception], None]:
    """What happens to a message the categories cannot sort: a defect, and the queue moves past it."""

    def note(message_id: int, error: Exception) -> None:
        log.warning("message %s not sorted into a category: %s", message_id, type(error).__name__)
        note_defect(db, message_id, f"not sorted into a category ({type(error).__name__}: {str(error)[:200]})")

    return note


def _names(attachments: str) -> list[str]:
    try:
        return [str(a.get("name") or "") for a in json.loads(attachments or "[]") if isinstance(a, dict)]
    except ValueError:
        return []
