"""What the rules found: checks (kept or not, for the digest) and violations (with evidence), and the
private nudges that tell people — few and batched.

Nudges are alerts in the SLA feature's outbox (`bot.outbox.enqueue`): rows delivered through every
configured channel with retries, unique per key. A thread is told about once per person and kind of rule
(its scope: `rules:naming:<thread>:<person>` for subject and file names, `rules:cc:<thread>:<person>` for
missing CCs, `rules:gap:<thread>:<person>` for CC gaps, `rules:collision:<customer>:<owner>:<other>:<to>`).
A nudge goes out at most once per person, kind of rule and local day (key `rules:<kind>:<day>:<person>`),
batching what was found; what is found after it waits for the next day's. A violation remembers what
covered it in `notice`: `<nudge key>|<thread scope>`, `covered:<thread scope>` when an earlier nudge told
that thread already, 'stale' for mail too old to bother anyone about, 'none' when there is nobody to tell.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.directory import Directory
from bot.core.reply import Reply, bullets, context, heading
from bot.customers.inference import effective_owner
from bot.mail.visibility import Audience, Visibility, hidden_note, message_mailboxes, thread_mailboxes
from bot.outbox import Destination, enqueue
from bot.rules.settings import Rules
from bot.store.db import write_transaction

RULES = ("missing_cc", "cc_gap", "subject_convention", "quotation_name", "collision")
RULE_LABELS = {
    "missing_cc": "milestone mail without its shared mailbox in CC",
    "cc_gap": "a customer replied to mail the shared mailbox never saw",
    "subject_convention": "subject not [RFQ]-Customer-Product-Date",
    "quotation_name": "quotation file not Product-Model-Currency-Validity-Version",
    "collision": "two people on one customer (撞单)",
}


@dataclass
class Finding:
    message: int
    message_id: str
    thread_id: int | None
    rule: str
    person_id: str | None
    customer_id: int | None
    expected: str | None
    at: str | None
    evidence: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None


def record_check(db: Database, message: int, rule: str, ok: bool, person_id: str | None, customer_id: int | None,
                 at: str | None) -> None:
    db.execute(
        "INSERT OR REPLACE INTO rule_checks (message, rule, ok, person_id, customer_id, at) VALUES (?, ?, ?, ?, ?, ?)",
        [message, rule, int(ok), person_id, customer_id, at],
    )


def record(db: Database, finding: Finding, now: datetime) -> bool:
    """Store a violation unless this message already has one for the rule; True when new."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO rule_violations (message, message_id, thread_id, rule, person_id, customer_id, expected,"
        " ref, evidence, at, found_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [finding.message, finding.message_id, finding.thread_id, finding.rule, finding.person_id, finding.customer_id,
         finding.expected, finding.ref, json.dumps(finding.evidence, ensure_ascii=False, default=str), finding.at,
         iso(now)],
    )
    return cursor.rowcount > 0


def resolve_gaps(db: Database, message_ids: list[str]) -> int:
    """CC gaps whose missing message has now been archived (it came by another mailbox) are withdrawn."""
    if not message_ids:
        return 0
    removed = 0
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        removed += db.execute(
            f"DELETE FROM rule_violations WHERE rule = 'cc_gap' AND (notice IS NULL) AND ref IN ({marks})", chunk
        ).rowcount
    return removed


def violations(db: Database, *, rule: str | None = None, person: str | None = None, since: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """The `data.violations[]` rows, newest mail first."""
    sql = ("SELECT v.id, v.message_id, v.rule, v.person_id, c.name, v.expected, v.thread_id, v.at, v.found_at, "
           "v.evidence, v.notice, m.subject, v.customer_id FROM rule_violations v "
           "LEFT JOIN customers c ON c.id = v.customer_id LEFT JOIN messages m ON m.id = v.message WHERE 1 = 1")
    params: list[Any] = []
    if rule:
        sql += " AND v.rule = ?"
        params.append(rule)
    if person:
        sql += " AND (v.person_id = ? OR (v.rule = 'collision' AND v.expected = ?))"
        params += [person, person]
    if since:
        sql += " AND v.at >= ?"
        params.append(since)
    sql += " ORDER BY v.at DESC, v.id DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit)
    out = []
    for r in db.execute(sql, params):
        out.append({
            "id": r[0], "message_id": r[1], "rule": r[2], "person": r[3], "customer": r[4], "expected": r[5],
            "thread_id": r[6], "date": r[7], "found_at": r[8], "evidence": json.loads(r[9] or "{}"),
            "notified": r[10] not in (None, "stale", "none"), "subject": r[11] or "", "customer_id": r[12],
        })
    return out


# ── telling people ─────────────────────────────────────────────────────────────────────────────


def notify(db: Database, directory: Directory, visibility: Visibility, rules: Rules, zone: str,
           now: datetime) -> int:
    """Enqueue the private nudges for violations nobody was told about yet; returns alerts added.

    Few and batched: at most one nudge per person, kind of rule and local day (`rules:<kind>:<day>:<person>`),
    holding everything found for them in this round; a thread (a customer pair, for collisions) is told
    about once. Findings beyond that stay recorded — in `mailroom rules` and the daily digest — and are
    marked with the nudge (or earlier notice) that covered them. `zone`: the organization's time zone (the
    local day)."""
    rows = db.execute(
        "SELECT v.id, v.message_id, v.thread_id, v.rule, v.person_id, v.customer_id, v.expected, v.evidence, v.at, "
        "v.found_at, m.subject, c.name, v.message FROM rule_violations v LEFT JOIN messages m ON m.id = v.message "
        "LEFT JOIN customers c ON c.id = v.customer_id WHERE v.notice IS NULL ORDER BY v.id"
    ).fetchall()
    if not rows:
        return 0
    oldest = iso(now - rules.model.notify_max_age)
    grace = iso(now - rules.cc.gap_grace)
    day = now.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    targets: dict[str, str] = {}
    marks: list[tuple[str, int]] = []
    told = _told_threads(db)
    sent_today = {r[0] for r in db.execute("SELECT key FROM sla_alerts WHERE key LIKE ?", [f"rules:%:{day}:%"])}
    for r in rows:
        v = {"id": r[0], "message_id": r[1], "thread_id": r[2], "rule": r[3], "person": r[4], "customer_id": r[5],
             "expected": r[6], "evidence": json.loads(r[7] or "{}"), "at": r[8], "subject": r[10] or "",
             "customer": r[11] or "a customer", "message": r[12]}
        if (v["at"] or r[9]) < oldest:
            marks.append(("stale", v["id"]))
            continue
        if v["rule"] == "cc_gap" and r[9] > grace:
            continue  # the message it names may still come in through another mailbox
        recipients = _recipients(db, directory, v, now)
        if not recipients:
            marks.append(("none", v["id"]))
            continue
        fresh = [(p, scope) for p, scope in recipients if scope not in told]
        if not fresh:
            marks.append((f"covered:{recipients[0][1]}", v["id"]))  # this thread was told before
            continue
        keys = [f"rules:{RULE_KIND[v['rule']]}:{day}:{person_id}" for person_id, _scope in fresh]
        if all(key in sent_today for key in keys):
            continue  # today's nudge went out already: this one waits for tomorrow's
        for key, (person_id, _scope) in zip(keys, fresh, strict=True):
            if key not in sent_today:
                groups[key].append(v)
                targets[key] = person_id
        marks.append((f"{keys[0]}|{fresh[0][1]}", v["id"]))
    added = 0
    with write_transaction(db):
        for key, found in groups.items():
            person_id = targets[key]
            reply = nudge_reply(db, directory, visibility, person_id, found)
            added += enqueue(db, key=key, kind="rules", level=found[0]["rule"], now=now,
                             destination=Destination("person", person_id, None), route="rules: private nudge",
                             reply=reply)
        for notice, violation_id in marks:
            db.execute("UPDATE rule_violations SET notice = ? WHERE id = ? AND notice IS NULL", [notice, violation_id])
    return added


RULE_KIND = {"subject_convention": "naming", "quotation_name": "naming", "missing_cc": "cc", "cc_gap": "gap",
             "collision": "collision"}
"""Nudges are limited per kind of rule: a mail with a bad subject and a bad file name is one naming nudge."""


def _told_threads(db: Database) -> set[str]:
    """The scopes (`rules:naming:<thread>:<person>` …) some earlier nudge already covered."""
    told: set[str] = set()
    for (notice,) in db.execute("SELECT DISTINCT notice FROM rule_violations WHERE notice LIKE 'rules:%|%'"):
        told.add(notice.split("|", 1)[1])
    return told


def _recipients(db: Database, directory: Directory, v: dict[str, Any], now: datetime) -> list[tuple[str, str]]:
    """(person, scope) pairs: who is told, and the thread (or customer pair) the telling covers."""
    rule, person, thread = v["rule"], v["person"], v["thread_id"]
    if rule in ("subject_convention", "quotation_name"):
        return [(person, f"rules:naming:{thread}:{person}")] if person in directory.people else []
    if rule == "missing_cc":
        return [(person, f"rules:cc:{thread}:{person}")] if person in directory.people else []
    if rule == "cc_gap":
        who = person
        if who not in directory.people and v["customer_id"] is not None:
            who = effective_owner(db, directory, v["customer_id"], now=now)[0]
        return [(who, f"rules:gap:{thread}:{who}")] if who in directory.people else []
    if rule == "collision":
        owner, other = v["expected"], person
        base = f"rules:collision:{v['customer_id']}:{owner}:{other}"
        return [(p, f"{base}:{p}") for p in (owner, other) if p in directory.people]
    return []


def nudge_reply(db: Database, directory: Directory, visibility: Visibility, person_id: str,
                found: list[dict[str, Any]]) -> Reply:
    """A private, friendly message: what the guide asks, and the corrected suggestion."""
    first = found[0]
    rule = first["rule"]
    # the choke point (bot/mail/visibility.py): a nudge names only mail its reader may read
    person = directory.people.get(person_id)
    audience = Audience.person(person) if person is not None else Audience(())
    boxes = message_mailboxes(db, [v["message"] for v in found if v.get("message") is not None])
    sieved = visibility.sieve(audience, found, lambda v: boxes.get(int(v.get("message") or 0), []))
    readable = sieved.shown
    subject = (readable[0]["subject"] or "(no subject)") if readable else ""
    # A collision or a missing CC is told even about mail the reader may not read — who, which customer,
    # which mailbox belongs in CC carry no mail text — while its threads' subjects go through the sieve.
    # The other findings are the mail's own text (its subject, file names, a quoted message): counted only.
    told = [v for v in found if v in readable or v["rule"] in ("collision", "missing_cc")]
    hidden = len(found) - len(told)
    lines: list[str] = []
    for v in told:
        if v["rule"] == "subject_convention":
            lines.append(f"Subject “{v['evidence'].get('subject', subject)}” → suggested: {v['expected']}")
        elif v["rule"] == "quotation_name":
            for bad, good in v["evidence"].get("files", {}).items():
                lines.append(f"File {bad} → suggested: {good}")
        elif v["rule"] == "missing_cc":
            names = ", ".join(v["evidence"].get("milestones", []))
            lines.append(f"{names or 'milestone'} mail should CC {v['expected']}")
        elif v["rule"] == "cc_gap":
            lines.append(_gap_line(v))
        elif v["rule"] == "collision":
            lines.extend(_collision_lines(db, directory, visibility, audience, v, person_id))
    if hidden:
        lines.append(hidden_note(hidden, "finding", more=bool(lines)))
    titles = {
        "subject_convention": "Naming convention (guide): please use these names next time",
        "quotation_name": "Naming convention (guide): please use these names next time",
        "missing_cc": "Key milestone mail: the shared mailbox was not in CC",
        "cc_gap": "A customer replied to mail the shared mailbox never saw",
        "collision": "Possible collision (撞单): two of us on one customer",
    }
    blocks = [heading(titles[rule]), context(f"{first['customer']} · “{subject}”" if subject else first["customer"]),
              bullets(lines)]
    if rule in ("missing_cc", "cc_gap"):
        blocks.append(context("Forward it to the shared mailbox so the archive and handovers keep it (交接不断档)."))
    return Reply(command="rules.nudge", blocks=blocks,
                 data={"rules": [{"rule": v["rule"], "message_id": v["message_id"] if v in readable else None,
                                  "expected": v["expected"], "thread_id": v["thread_id"]} for v in found],
                       "person": person_id})


def _gap_line(v: dict[str, Any]) -> str:
    evidence = v["evidence"]
    if evidence.get("missing_message_id"):
        return (f"Their reply names our message <{evidence['missing_message_id']}>, which never reached "
                f"{v['expected'] or 'a shared mailbox'}: please forward it there.")
    return (f"Their reply quotes mail from {evidence.get('quoted', 'one of us')} that never reached "
            f"{v['expected'] or 'a shared mailbox'}: please forward it there.")


def _collision_lines(db: Database, directory: Directory, visibility: Visibility, audience: Audience,
                     v: dict[str, Any], person_id: str) -> list[str]:
    e = v["evidence"]
    owner, other = v["expected"], v["person"]
    name = directory.people[owner].name if owner in directory.people else owner
    other_name = directory.people[other].name if other in directory.people else other
    lines = [f"{v['customer']} is {name}'s customer ({e.get('owner_source', 'owner')}); {other_name} is in contact too."]
    if e.get("similar_to"):
        lines.append(f"Looks like {e['similar_to']} ({e.get('why', 'similar')})")
    for who in (owner, other):
        facts = e.get("contacts", {}).get(who)
        if facts:
            lines.append(f"{directory.people[who].name if who in directory.people else who}: first {facts['first']}, "
                         f"last {facts['last']}, {facts['messages']} message(s)")
    threads = e.get("threads", [])[:5]
    where = thread_mailboxes(db, [t["id"] for t in threads])
    shown = visibility.sieve(audience, threads, lambda t: where.get(t["id"], []))
    for thread in shown.shown:
        lines.append(f"thread #{thread['id']}: {thread['subject']}")
    if shown.hidden:
        lines.append(hidden_note(shown.hidden, "thread", channel=audience.channel, more=bool(shown.shown)))
    lines.append("Please agree who follows up before anyone quotes twice." if person_id == other
                 else "Please agree with them who follows up before anyone quotes twice.")
    return lines
