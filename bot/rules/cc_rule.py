"""The CC rule: key milestone mails must CC their shared mailbox — and the gaps that show when they did not.

(a) **missing_cc** — a milestone mail we sent (seen in a shared mailbox, or in a person's synced Sent
    folder) lacks one of its required mailboxes: present = To + Cc (aliases resolved) + the mailboxes
    the archive saw it in (a Bcc counts). A complaint conclusion in support@ without audit@ is one.
(b) **cc_gap** — a customer's reply to mail of ours the archive never saw: its In-Reply-To/References
    name a Message-ID of our domain that is not archived, or its quoted header ("From: Amy Zhang
    <amy@…>", "发件人:", "On … Amy <amy@…> wrote:") names one of our people and no archived mail from
    that person matches it (same thread or quoted subject, within 36 h of the quoted date when given).
    Someone mailed the customer without the shared mailbox. A gap found from a Message-ID is withdrawn
    when that message is archived later (it came in through another mailbox after all).
(c) Personal Sent folders (`[people.imap]`, synced by `mailroom sync` as sightings under the person's
    address) feed (a): their milestone mails are checked like any other.
"""

import re
from datetime import timedelta

from sqlite_utils import Database

from bot.core.clock import parse_instant
from bot.core.directory import Directory
from bot.mail.parse import normalize_subject
from bot.rules.mail import MailRow, thread_mailboxes
from bot.rules.milestones_cc import MilestoneDetector
from bot.rules.settings import Rules
from bot.rules.text import QuotedHeader, quoted_headers
from bot.rules.violations import Finding

QUOTE_WINDOW = timedelta(hours=36)
_AUTO_REPLY = re.compile(r"^(?:auto(?:matic)?[ -]?(?:reply|response)?\s*[:：]|out of (?:the )?office|自动回复|自動回覆)",
                         re.IGNORECASE)


class CcChecker:
    def __init__(self, db: Database, directory: Directory, rules: Rules):
        self.db = db
        self.directory = directory
        self.rules = rules
        self.detector = MilestoneDetector(rules.cc.keywords)

    # -- (a) and (c) ---------------------------------------------------------------------------
    def present(self, row: MailRow) -> set[str]:
        """Shared mailboxes the mail reached: To/Cc (aliases resolved) and where the archive saw it."""
        found = {s for s in row.mailboxes if s in self.directory.mailboxes}
        for address in row.recipients:
            resolved = self.directory.mailbox_for(address)
            if resolved:
                found.add(resolved[0])
        return found

    def milestones(self, row: MailRow, thread_boxes: set[str] | None = None) -> list[str]:
        """Milestones of an outbound mail; the detector sees the roles of the mailboxes the message and its
        thread were seen in (a personal Sent folder has none)."""
        if thread_boxes is None:
            thread_boxes = thread_mailboxes(self.db, row.thread_id)
        boxes = row.mailboxes | thread_boxes
        roles: set[str] = {self.directory.mailboxes[b].role for b in boxes if b in self.directory.mailboxes}
        return self.detector.milestones_of(row.subject, row.body, row.files, roles=roles or {""})

    def missing_cc(self, row: MailRow, milestones: list[str]) -> Finding | None:
        """The required mailboxes a milestone mail did not reach (one finding listing them), or None."""
        present = self.present(row)
        missing: list[str] = []
        why: dict[str, list[str]] = {}
        for milestone in milestones:
            for requirement in self.rules.required_cc.get(milestone, []):
                if present.intersection(requirement):
                    continue
                label = " or ".join(requirement)
                if label not in missing:
                    missing.append(label)
                why.setdefault(label, []).append(milestone)
        if not missing:
            return None
        return Finding(
            message=row.id, message_id=row.message_id, thread_id=row.thread_id, rule="missing_cc",
            person_id=row.person_id, customer_id=row.customer_id, expected=", ".join(missing), at=row.date,
            evidence={"milestones": milestones, "missing": missing, "why": why, "present": sorted(present),
                      "seen_in": sorted(row.mailboxes)},
        )

    # -- (b) -----------------------------------------------------------------------------------
    def is_ours(self, message_id: str) -> bool:
        domain = message_id.rpartition("@")[2].lower().strip(">")
        return any(domain == d or domain.endswith("." + d) for d in self.directory.org_domains)

    def archived(self, message_id: str) -> bool:
        variant = f"{message_id}#variant-"  # the archive's name for a reused Message-ID (bot/mail/archive.py)
        return self.db.execute(
            "SELECT 1 FROM messages WHERE message_id = ? OR (message_id >= ? AND message_id < ?) LIMIT 1",
            [message_id, variant, variant + "\uffff"],
        ).fetchone() is not None

    def gap(self, row: MailRow) -> Finding | None:
        if not self.rules.cc.gaps:
            return None
        named = list(dict.fromkeys([*([row.in_reply_to] if row.in_reply_to else []), *reversed(row.refs)]))
        if _AUTO_REPLY.match(normalize_subject(row.subject)):
            named = []  # a reply to our auto-reply: mail servers often send those without keeping a copy
        missing = [m for m in named if self.is_ours(m) and not self.archived(m)]
        if missing:
            person = self._addressed_person(row)
            return self._finding(row, person, ref=missing[0],
                                 evidence={"missing_message_id": missing[0], "missing": missing,
                                           "how": "In-Reply-To/References"})
        for quoted in quoted_headers(row.body):
            quoted_person = self.directory.person_by_email(quoted.address)
            if quoted_person is None:
                continue
            if not self._quoted_is_archived(row, quoted):
                who = f"{quoted.name} <{quoted.address}>" if quoted.name else quoted.address
                return self._finding(row, quoted_person.id, ref=None,
                                     evidence={"quoted": who, "quoted_subject": quoted.subject,
                                               "quoted_date": quoted.date.isoformat() if quoted.date else None,
                                               "how": "quoted header"})
        return None

    def _finding(self, row: MailRow, person: str | None, *, ref: str | None, evidence: dict[str, object]) -> Finding:
        shared = [m for m in sorted(row.mailboxes) if m in self.directory.mailboxes]
        if not shared:
            shared = sorted(m for m in thread_mailboxes(self.db, row.thread_id) if m in self.directory.mailboxes)
        return Finding(
            message=row.id, message_id=row.message_id, thread_id=row.thread_id, rule="cc_gap", person_id=person,
            customer_id=row.customer_id, expected=shared[0] if shared else None, at=row.date, evidence=evidence,
            ref=ref,
        )

    def _addressed_person(self, row: MailRow) -> str | None:
        for address in row.recipients:
            person = self.directory.person_by_email(address)
            if person is not None:
                return person.id
        return None

    def _quoted_is_archived(self, row: MailRow, quoted: QuotedHeader) -> bool:
        params: list[object] = [quoted.address, row.id]
        where = "from_addr = ? AND id <> ?"
        subject = normalize_subject(quoted.subject)
        if subject and row.thread_id is not None:
            where += " AND (thread_id = ? OR subject_norm = ?)"
            params += [row.thread_id, subject]
        elif subject:
            where += " AND subject_norm = ?"
            params.append(subject)
        elif row.thread_id is not None:
            where += " AND thread_id = ?"
            params.append(row.thread_id)
        else:
            where += " AND customer_id IS ?"
            params.append(row.customer_id)
        dates = [r[0] for r in self.db.execute(f"SELECT date FROM messages WHERE {where}", params)]
        if not dates:
            return False
        if quoted.date is None:
            return True
        return any(d and abs(parse_instant(d) - quoted.date) <= QUOTE_WINDOW for d in dates)
