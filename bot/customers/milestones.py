"""Key milestones found in mail: quotation, sample confirmation, payment terms, PO and its confirmation,
delivery changes, loading plans, shipping documents, complaints and their conclusions — in English and Chinese.

These are the mails the guide says must CC a shared mailbox (报价、样品确认、付款条件、PO确认、交期变更、
装柜计划、B/L/发票/装箱单、投诉结论). `detect` is a pure function of one message (subject, own text, attachment
names, direction, the roles of the shared mailboxes it was seen in), so the mail-rules feature can run it
on every new message; `customer_milestones` runs it over one customer's recent mail for /handover.

Rules of thumb, from the demo factory's mail and real exporters' habits:
- Only the author's own words count (quoted history and signatures are cut, `bot.sla.text_rules.own_text`),
  and a reply's subject ("Re: PO 4521") describes the thread, not the message, so it is ignored.
- Direction matters: "please send your quotation" from a customer is an inquiry, not our quotation; a
  PO comes from the customer, its confirmation (PI, 订单确认) from us; a complaint comes in, a conclusion
  goes out — and counts as one only in after-sales/audit mail or when it says so (结论, root cause, 8D),
  so a "5 % discount" in a quotation is not a complaint conclusion.
- Attachment names follow conventions: `PO-4521.pdf`, `PI-2026-001.pdf`, `BL-…`, `CI-…`, `PL-…`, and the
  guide's quotation file name `Product-Model-Currency-Validity-Version` (`BV-DN50-USD-30d-V1.pdf`).
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlite_utils import Database

from bot.core.clock import iso
from bot.sla.text_rules import own_text

Kind = Literal[
    "quotation", "sample_confirmation", "payment_terms", "po", "po_confirmation", "delivery_change", "loading_plan",
    "shipping_documents", "complaint", "complaint_conclusion",
]
KINDS: tuple[Kind, ...] = (
    "quotation", "sample_confirmation", "payment_terms", "po", "po_confirmation", "delivery_change", "loading_plan",
    "shipping_documents", "complaint", "complaint_conclusion",
)
LABELS: dict[str, str] = {
    "quotation": "quotation 报价",
    "sample_confirmation": "sample confirmation 样品确认",
    "payment_terms": "payment terms 付款条件",
    "po": "purchase order 采购订单",
    "po_confirmation": "PO confirmation 订单确认",
    "delivery_change": "delivery change 交期变更",
    "loading_plan": "loading plan 装柜计划",
    "shipping_documents": "shipping documents 船务单据",
    "complaint": "complaint 投诉",
    "complaint_conclusion": "complaint conclusion 投诉结论",
}
_REPLY_SUBJECT = re.compile(r"^\s*(?:(?:re|aw|sv|fw|fwd|wg|tr)\s*(?:\[\d+\])?\s*[:：]|回复[:：]?|答复[:：]?|转发[:：]?)",
                            re.IGNORECASE)
_CURRENCY = r"(?:usd|eur|cny|rmb|gbp|jpy|aud|cad|chf|hkd)"


@dataclass(frozen=True)
class Rule:
    kind: Kind
    text: re.Pattern[str] | None
    attachment: re.Pattern[str] | None = None
    direction: Literal["inbound", "outbound"] | None = None
    roles: frozenset[str] = frozenset()
    """When set, the text alone counts only in mail seen in a shared mailbox of one of these roles…"""
    strong: re.Pattern[str] | None = None
    """…or when the text also matches this (an explicit word such as 结论 / conclusion)."""


def _re(pattern: str) -> re.Pattern[str]:
    """ASCII word boundaries: `\\b` must see 是PO 4521 as a boundary (CJK letters are \\w in Unicode)."""
    return re.compile(pattern, re.IGNORECASE | re.ASCII)


RULES: tuple[Rule, ...] = (
    Rule("quotation",
         _re(r"\bquotation\b|\bour (?:best )?(?:offer|quote|price)\b|\bprice list\b|\bproforma quotation\b"
             r"|报价单|报价|报盘|价格表"),
         _re(rf"quot|offer|报价|-{_CURRENCY}-\d+\s*d\w*-v\d+"), direction="outbound"),
    Rule("sample_confirmation",
         _re(r"\bsamples?\s+(?:is|are|was|were|has been|have been)?\s*(?:approved|confirmed|ok|accepted)\b"
             r"|\b(?:approve[ds]?|confirm(?:ed|s)?|accept(?:ed|s)?)\s+(?:the\s+|your\s+|our\s+)?samples?\b"
             r"|\bsample (?:approval|confirmation)\b|样品确认|确认样品|样品已确认|样品(?:合格|ok|通过)|封样|签样"),
         _re(r"sample.?(?:approv|confirm)|样品确认|封样")),
    Rule("payment_terms",
         _re(r"\bpayment terms?\b|\bterms of payment\b|\bT/T\b|\bL/C\b|\bD/P\b|\bletter of credit\b"
             r"|\b\d{1,3}\s*%\s*(?:deposit|advance|down payment)|付款方式|付款条件|预付款?|定金|尾款|信用证"),
         None),
    Rule("po",
         # a PO number alone is only a reference ("Leaking valves on PO 4521"): a line must start with it
         _re(r"(?m)\bpurchase order\b|^\s*P\.?O\.?\s*(?:no\.?|number|#)?\s*:?\s*\d{3,}\b|采购订单|订单号|下单"),
         _re(r"^(?:po|p\.o)[\s_-]*\d+|purchase.?order|采购订单"), direction="inbound"),
    Rule("po_confirmation",
         _re(r"\b(?:PO|order) confirmation\b|\bconfirm(?:s|ed|ing)?\s+(?:your\s+|the\s+|our\s+)?"
             r"(?:PO|P\.O\.|order|purchase order)\b|\bproforma invoice\b|\bsales contract\b"
             r"|订单确认|确认订单|确认PO|形式发票|销售合同"),
         _re(r"^(?:pi|sc)[\s_-]*\d|proforma|形式发票|合同"), direction="outbound"),
    Rule("delivery_change",
         _re(r"\bdelivery (?:date )?(?:change|changes|changed|moves?|moved|postponed|delayed|rescheduled)\b"
             r"|\b(?:change|changes) (?:of|in|to) (?:the )?delivery\b|\bnew delivery date\b|\bpostpone\w*"
             r"|\breschedul\w*|\bdelay(?:ed)? (?:of|in) (?:the )?(?:delivery|shipment)\b"
             r"|\b(?:advance|expedite|bring forward) the (?:shipment|delivery)\b|\bship\b.{0,40}\bearlier\b"
             r"|交期变更|交期调整|交期延|延期交货|延迟交货|推迟|提前(?:交货|出货|发货)|改期"),
         None),
    Rule("loading_plan",
         _re(r"\b(?:container )?loading (?:plan|schedule)\b|\bstuffing plan\b|装柜计划|装箱计划|装柜"),
         _re(r"loading|stuffing|装柜")),
    Rule("shipping_documents",
         _re(r"\bB/L\b|\bbill of lading\b|\b(?<!proforma )(?:commercial )?invoice\b|\bpacking list\b"
             r"|\bcertificate of origin\b|\bshipping documents?\b|提单|(?<!形式)发票|装箱单|原产地证"
             r"|船务单据|报关单"),
         _re(r"^(?:bl|b-l|ci|pl|inv|coo)[\s_-]|lading|(?<!pro)(?<!proforma.)invoice|packing|提单|装箱单"),
         roles=frozenset({"order", "shipping"}),
         strong=_re(r"\bshipping documents?\b|\bbill of lading\b|\bpacking list\b|\bB/L (?:no|number|attached)"
                    r"|提单|装箱单|船务单据")),
    Rule("complaint",
         _re(r"\bcomplain\w*|\bleak\w*|\bdefect\w*|\bdamaged?\b|\bbroken\b|\bcrack\w*|\brust\w*|\bnot working\b"
             r"|\bwrong (?:item|goods|size|model|parts?)\b|\bquality (?:problem|issue|claim)s?\b|\bclaim\b"
             r"|投诉|质量问题|漏水|漏气|破损|损坏|生锈|不良|故障|退货|索赔"),
         None, direction="inbound"),
    Rule("complaint_conclusion",
         _re(r"\bconclusion\b|\broot cause\b|\b8D\b|\bcorrective action\b|\breplacement\b|\bcredit note\b"
             r"|\brefund\w*|\bcompensat\w*|\bdiscount\b|\brepair\w*|结论|处理结果|原因分析|纠正措施|补发|退款|赔偿|折扣|返修"),
         _re(r"8d|conclusion|结论|处理结果"), direction="outbound", roles=frozenset({"support", "audit"}),
         strong=_re(r"\bconclusion\b|\broot cause\b|\b8D\b|\bcorrective action\b|结论|处理结果|原因分析|纠正措施")),
)


@dataclass(frozen=True)
class Hit:
    kind: Kind
    evidence: str
    """The words or the attachment name that matched."""
    excerpt: str = ""
    """The line of the author's own text around the match (empty for an attachment-only hit)."""


def detect(
    subject: str | None,
    body: str | None,
    attachments: Iterable[str] = (),
    *,
    direction: str | None = None,
    roles: Iterable[str] | None = None,
) -> list[Hit]:
    """The milestones one message marks, at most one hit per kind, in the order of KINDS.

    `direction` (inbound | outbound) and `roles` (of the shared mailboxes the message was seen in:
    inquiry, order, support, shipping, audit; empty for personal mail) sharpen the rules; None skips
    those checks.
    """
    subject = subject or ""
    text = own_text(body or "")
    if subject and not _REPLY_SUBJECT.match(subject):
        text = f"{subject}\n{text}"
    names = [n for n in attachments if n]
    role_set = None if roles is None else frozenset(roles)
    hits: list[Hit] = []
    for rule in RULES:
        if rule.direction and direction and direction != rule.direction:
            continue
        hit = _match_text(rule, text, role_set) or _match_attachments(rule, names)
        if hit is not None:
            hits.append(hit)
    return hits


def _match_text(rule: Rule, text: str, roles: frozenset[str] | None) -> Hit | None:
    if rule.text is None or not text:
        return None
    found = rule.text.search(text)
    if found is None:
        return None
    if rule.roles and roles is not None and not (rule.roles & roles) and not (rule.strong and rule.strong.search(text)):
        return None
    return Hit(rule.kind, found.group(0).strip(), _excerpt(text, found.start(), found.end()))


def _match_attachments(rule: Rule, names: list[str]) -> Hit | None:
    if rule.attachment is None:
        return None
    found = [n for n in names if rule.attachment.search(n)]
    return Hit(rule.kind, ", ".join(found)) if found else None


def _excerpt(text: str, start: int, end: int, width: int = 160) -> str:
    """The line holding the match, trimmed around it to about `width` characters."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start: line_end if line_end >= 0 else len(text)].strip()
    if len(line) <= width:
        return line
    at = max(0, start - line_start - width // 3)
    cut = line[at: at + width].strip()
    return ("…" if at else "") + cut + ("…" if at + width < len(line) else "")


# ── one customer's mail ────────────────────────────────────────────────────────────────────────


@dataclass
class Milestone:
    """A milestone found in one message of a customer."""

    kind: Kind
    at: str
    direction: str
    message: int
    thread_id: int | None
    subject: str
    evidence: str
    excerpt: str
    mailboxes: list[str] = field(default_factory=list)
    conclusion: "Milestone | None" = None
    """For a complaint: the conclusion found later in the same thread, if any."""

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    def as_json(self) -> dict[str, Any]:
        data = {"kind": self.kind, "label": self.label, "at": self.at, "direction": self.direction,
                "message": self.message, "thread_id": self.thread_id, "subject": self.subject,
                "evidence": self.evidence, "excerpt": self.excerpt, "mailboxes": self.mailboxes}
        if self.kind == "complaint":
            data["conclusion"] = self.conclusion.as_json() if self.conclusion else None
        return data


_CUSTOMER_MAIL = """
    SELECT m.id, m.thread_id, m.date, m.direction, m.subject, m.body, m.attachments,
           (SELECT json_group_array(s.mailbox) FROM sightings s WHERE s.message = m.id AND s.mailbox <> '')
    FROM messages m
    WHERE m.customer_id = ? AND m.date >= ? AND m.direction IN ('inbound', 'outbound')
      AND m.auto_submitted = 0 AND m.is_bounce = 0 AND m.is_list = 0
    ORDER BY m.date DESC, m.id DESC
    LIMIT ?
"""


def customer_milestones(
    db: Database,
    customer_id: int,
    *,
    now: datetime,
    roles: dict[str, str],
    window: timedelta = timedelta(days=365),
    scan_limit: int = 500,
) -> list[Milestone]:
    """Milestones in the customer's mail of the last `window` (newest `scan_limit` messages), newest first.

    `roles` maps each shared mailbox address to its role. A complaint carries the first conclusion
    written after it in the same thread.
    """
    found: list[Milestone] = []
    rows = db.execute(_CUSTOMER_MAIL, [customer_id, iso(now - window), scan_limit]).fetchall()
    for pk, thread_id, date, direction, subject, body, attachments, boxes in rows:
        mailboxes = sorted(set(json.loads(boxes or "[]")))
        names = [a.get("name", "") if isinstance(a, dict) else str(a) for a in json.loads(attachments or "[]")]
        for hit in detect(subject, body, names, direction=direction, roles=[roles.get(b, "") for b in mailboxes]):
            found.append(Milestone(hit.kind, date, direction, pk, thread_id, subject or "", hit.evidence,
                                   hit.excerpt, mailboxes))
    _pair_conclusions(found)
    return found


def _pair_conclusions(milestones: list[Milestone]) -> None:
    conclusions = sorted((m for m in milestones if m.kind == "complaint_conclusion"), key=lambda m: m.at)
    for complaint in (m for m in milestones if m.kind == "complaint"):
        complaint.conclusion = next(
            (c for c in conclusions if c.thread_id == complaint.thread_id and c.at >= complaint.at), None
        )


def latest_per_kind(milestones: list[Milestone], *, complaints: int = 3) -> list[Milestone]:
    """For a brief: the newest milestone of each kind, plus up to `complaints` recent complaints (each with
    its conclusion, or none yet); conclusions already shown under their complaint are left out. Newest first."""
    shown: list[Milestone] = []
    seen: set[str] = set()
    paired = {id(m.conclusion) for m in milestones if m.kind == "complaint" and m.conclusion}
    complaint_count = 0
    for milestone in milestones:  # newest first
        if milestone.kind == "complaint":
            if complaint_count < complaints:
                shown.append(milestone)
                complaint_count += 1
            continue
        if milestone.kind == "complaint_conclusion" and id(milestone) in paired:
            continue
        if milestone.kind not in seen:
            seen.add(milestone.kind)
            shown.append(milestone)
    return shown
