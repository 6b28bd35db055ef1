"""Inquiry routing and claims: a new inquiry thread from a customer nobody owns is proposed to one
person, who claims it (or passes); unclaimed after `claim_timeout` it goes to the next person, and
after `people_before_team` people to the team's channel, where anyone may claim it.

Who is proposed, in order:
1. the owner of an owned customer this "new" one looks like (subdomain, same contact, close name —
   see collisions.similar_owned): the inquiry most likely belongs with them;
2. the first `[[rules.routing.rules]]` entry matching the customer's country (CRM, else the domain's
   country code, else a country named in the signature) and/or product keywords;
3. round robin within the mailbox's team (`rules.routing.people.TEAM`, default its members and leads),
   remembering where it stopped.
Nobody who is `/away` now, or who already passed or let it time out, is proposed.

Claiming makes the claimer the customer's explicit owner (bot.customers.ownership, source "assignment"), audited.
A thread that gets a reply from one of us, or a customer that gets an owner by other means, closes the
claim. Everything runs from `tick(now)` with the injected clock.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.config import Person
from bot.core.directory import Directory, domain_of
from bot.core.errors import CommandError
from bot.core.permissions import has_role
from bot.core.reply import Button, Reply, context, fields, heading
from bot.customers.inference import effective_owner
from bot.customers.ownership import owner_of, set_owner
from bot.mail.visibility import Audience, Visibility, hidden_note, message_mailboxes
from bot.outbox import Destination, enqueue, team_destination
from bot.rules.collisions import CollisionChecker, Similar
from bot.rules.mail import MailRow
from bot.rules.settings import Rules
from bot.rules.text import KeywordTable, own_text
from bot.sla.away import away_of
from bot.store.audit import AuditLog
from bot.store.db import write_transaction

GENERIC_TLDS = frozenset({
    "com", "net", "org", "info", "biz", "io", "co", "me", "tv", "cc", "app", "dev", "xyz", "online", "site", "shop",
    "store", "tech", "ai", "eu", "asia", "global", "group", "pro", "name", "mobi", "top", "club",
})
COUNTRY_NAMES = {
    "germany": "DE", "deutschland": "DE", "德国": "DE", "france": "FR", "法国": "FR", "italy": "IT", "italia": "IT",
    "意大利": "IT", "spain": "ES", "españa": "ES", "西班牙": "ES", "portugal": "PT", "葡萄牙": "PT",
    "netherlands": "NL", "荷兰": "NL", "belgium": "BE", "poland": "PL", "polska": "PL", "波兰": "PL",
    "sweden": "SE", "sverige": "SE", "瑞典": "SE", "denmark": "DK", "danmark": "DK", "丹麦": "DK", "norway": "NO",
    "finland": "FI", "austria": "AT", "österreich": "AT", "switzerland": "CH", "schweiz": "CH", "瑞士": "CH",
    "united kingdom": "GB", "england": "GB", "英国": "GB", "ireland": "IE", "turkey": "TR", "türkiye": "TR",
    "土耳其": "TR", "russia": "RU", "俄罗斯": "RU", "united states": "US", "usa": "US", "美国": "US",
    "canada": "CA", "加拿大": "CA", "mexico": "MX", "méxico": "MX", "墨西哥": "MX", "brazil": "BR", "brasil": "BR",
    "巴西": "BR", "argentina": "AR", "chile": "CL", "colombia": "CO", "peru": "PE", "japan": "JP", "日本": "JP",
    "korea": "KR", "韩国": "KR", "india": "IN", "印度": "IN", "vietnam": "VN", "越南": "VN", "thailand": "TH",
    "泰国": "TH", "indonesia": "ID", "malaysia": "MY", "singapore": "SG", "新加坡": "SG", "philippines": "PH",
    "australia": "AU", "澳大利亚": "AU", "new zealand": "NZ", "uae": "AE", "united arab emirates": "AE",
    "dubai": "AE", "阿联酋": "AE", "saudi arabia": "SA", "沙特": "SA", "egypt": "EG", "south africa": "ZA",
    "nigeria": "NG", "kenya": "KE", "israel": "IL", "iran": "IR", "pakistan": "PK", "china": "CN", "中国": "CN",
}
_SIGNATURE_LINES = 12


@dataclass
class Claim:
    id: int
    thread_id: int
    message: int
    customer_id: int | None
    mailbox: str
    team: str | None
    state: str
    proposed_to: str | None
    deadline: str | None
    tried: list[str]
    route: str
    evidence: dict[str, Any]
    claimed_by: str | None


_CLAIM_COLUMNS = ("id, thread_id, message, customer_id, mailbox, team, state, proposed_to, deadline, tried, route, "
                  "evidence, claimed_by")


def get_claim(db: Database, claim_id: int) -> Claim | None:
    row = db.execute(f"SELECT {_CLAIM_COLUMNS} FROM inquiry_claims WHERE id = ?", [claim_id]).fetchone()
    return _claim(row) if row else None


def _claim(row: tuple[Any, ...]) -> Claim:
    return Claim(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], json.loads(row[9]), row[10],
                 json.loads(row[11] or "{}"), row[12])


def country_of(db: Database, directory: Directory, customer_id: int | None, sender: str, text: str) -> tuple[str | None, str]:
    """(ISO country code, where it came from): the CRM, the domain's country code, or the signature."""
    if customer_id is not None:
        row = db.execute("SELECT country, domains FROM customers WHERE id = ?", [customer_id]).fetchone()
        if row and row[0]:
            return row[0].strip().upper(), "crm"
        domains = json.loads(row[1]) if row else []
    else:
        domains = []
    sender_domain = domain_of(sender) if sender else ""
    for domain in [*domains, *([sender_domain] if sender_domain and sender_domain not in directory.free_mail else [])]:
        tld = domain.rsplit(".", 1)[-1].lower()
        if len(tld) == 2 and tld not in GENERIC_TLDS:
            return ("GB" if tld == "uk" else tld.upper()), f"domain .{tld}"
    tail = [line.strip().lower() for line in text.splitlines() if line.strip()][-_SIGNATURE_LINES:]
    for line in reversed(tail):
        for name, code in COUNTRY_NAMES.items():
            if re.search(rf"(?<![a-z]){re.escape(name)}(?![a-z])", line) if name.isascii() else name in line:
                return code, "signature"
    return None, "unknown"


class InquiryRouter:
    def __init__(self, db: Database, directory: Directory, rules: Rules, collisions: CollisionChecker, *,
                 audit: AuditLog, visibility: Visibility):
        self.db = db
        self.directory = directory
        self.audit = audit
        self.visibility = visibility
        self.rules = rules
        self.settings = rules.routing
        self.collisions = collisions
        self.keyword_tables = [KeywordTable({"k": dict.fromkeys(rule.keywords, 1.0)}) if rule.keywords else None
                               for rule in self.settings.rules]

    # -- who takes part ------------------------------------------------------------------------
    def team_people(self, team: str | None) -> list[str]:
        if team is None:
            return []
        if team in self.settings.people:
            return list(self.settings.people[team])
        return [p.id for p in self.directory.members_of(team) if p.role in ("member", "lead")]

    def available(self, person_id: str, tried: list[str], now: datetime) -> bool:
        return (person_id in self.directory.people and person_id not in tried
                and away_of(self.db, person_id, now) is None)

    def choose(self, claim_team: str | None, country: str | None, text: str, tried: list[str], now: datetime,
               similar: Similar | None) -> tuple[str | None, str]:
        if similar is not None and self.available(similar.owner, tried, now):
            return similar.owner, f"looks like {similar.name} ({similar.why}), owned by {similar.owner}"
        for i, rule in enumerate(self.settings.rules):
            if rule.country and (country is None or country not in rule.country):
                continue
            table = self.keyword_tables[i]
            if table is not None and not table.hits("k", text):
                continue
            for person_id in rule.candidates:
                if self.available(person_id, tried, now):
                    what = [f"country {country}"] if rule.country else []
                    what += ["product keywords"] if rule.keywords else []
                    return person_id, f"rule {i + 1}: {' and '.join(what)}"
        people = self.team_people(claim_team)
        if not people:
            return None, "nobody to route to"
        key = f"routing.rr.{claim_team}"
        row = self.db.execute("SELECT value FROM rules_state WHERE key = ?", [key]).fetchone()
        start = people.index(row[0]) + 1 if row and row[0] in people else 0
        for step in range(len(people)):
            person_id = people[(start + step) % len(people)]
            if self.available(person_id, tried, now):
                self.db.execute("INSERT OR REPLACE INTO rules_state (key, value) VALUES (?, ?)", [key, person_id])
                return person_id, f"round robin in team {claim_team}"
        return None, "everyone in the team is away or has passed"

    # -- new inquiries -------------------------------------------------------------------------
    def consider(self, row: MailRow, now: datetime) -> int | None:
        """Open a claim for a new inquiry thread from a customer nobody owns; returns its id."""
        if not self.settings.enabled or row.direction != "inbound" or row.automatic:
            return None
        if row.customer_id is None or row.thread_id is None:
            return None
        inquiry = [m for m in self.rules.inquiry_mailboxes if m in row.mailboxes]
        if not inquiry or row.when < iso(now - self.settings.max_age):
            return None
        if self.db.execute("SELECT 1 FROM inquiry_claims WHERE thread_id = ?", [row.thread_id]).fetchone():
            return None
        answered = self.db.execute(
            "SELECT 1 FROM messages WHERE thread_id = ? AND direction = 'outbound' AND auto_submitted = 0 LIMIT 1",
            [row.thread_id]).fetchone()
        if answered or self.collisions.owner(row.customer_id)[0] is not None:
            return None
        mailbox = inquiry[0]
        box = self.directory.mailboxes[mailbox]
        text = f"{row.subject}\n{own_text(row.body)}"
        country, country_source = country_of(self.db, self.directory, row.customer_id, row.from_addr, row.body)
        similar = self.collisions.similar_owned(row.customer_id, row)
        if similar is not None:
            self.collisions.remember(row.customer_id, similar)
        person, route = self.choose(box.team, country, text, [], now, similar)
        evidence: dict[str, Any] = {"country": country, "country_source": country_source}
        if similar is not None:
            evidence["similar"] = {"customer_id": similar.customer_id, "name": similar.name, "owner": similar.owner,
                                   "why": similar.why}
        cursor = self.db.execute(
            "INSERT INTO inquiry_claims (thread_id, message, customer_id, mailbox, team, state, proposed_to, proposed_at,"
            " deadline, tried, route, evidence, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)",
            [row.thread_id, row.id, row.customer_id, mailbox, box.team, "proposed" if person else "team", person,
             iso(now) if person else None, iso(now + self.settings.claim_timeout) if person else None, route,
             json.dumps(evidence, ensure_ascii=False), iso(now), iso(now)],
        )
        claim = get_claim(self.db, int(cursor.lastrowid or 0))
        assert claim is not None
        self._announce(claim, now)
        return claim.id

    # -- time passing --------------------------------------------------------------------------
    def timeouts(self, now: datetime) -> int:
        """Close claims that were answered or assigned; pass on the ones whose time ran out."""
        moved = 0
        rows = self.db.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM inquiry_claims WHERE state IN ('proposed', 'team') ORDER BY id").fetchall()
        for claim in map(_claim, rows):
            if self._closed_meanwhile(claim, now):
                continue
            if claim.state == "proposed" and claim.deadline and claim.deadline <= iso(now):
                self._pass_on(claim, claim.proposed_to, now, why="timeout")
                moved += 1
        return moved

    def _closed_meanwhile(self, claim: Claim, now: datetime) -> bool:
        reply = self.db.execute(
            "SELECT person_id FROM messages WHERE thread_id = ? AND direction = 'outbound' AND auto_submitted = 0 "
            "ORDER BY date LIMIT 1", [claim.thread_id]).fetchone()
        if reply is not None:
            self.db.execute("UPDATE inquiry_claims SET state = 'answered', claimed_by = ?, claimed_at = ?, updated_at = ? "
                            "WHERE id = ?", [reply[0], iso(now), iso(now), claim.id])
            return True
        if claim.customer_id is not None and owner_of(self.db, claim.customer_id) is not None \
                and effective_owner(self.db, self.directory, claim.customer_id, now=now)[0] is not None:
            self.db.execute("UPDATE inquiry_claims SET state = 'closed', updated_at = ? WHERE id = ?",
                            [iso(now), claim.id])
            return True
        return False

    def _pass_on(self, claim: Claim, person_id: str | None, now: datetime, *, why: str) -> Claim:
        tried = [*claim.tried, *([person_id] if person_id and person_id not in claim.tried else [])]
        person, route = (None, f"{len(tried)} people asked")
        if len(tried) < self.settings.people_before_team:
            similar = None
            if "similar" in claim.evidence:
                s = claim.evidence["similar"]
                similar = Similar(s["customer_id"], s["name"], s["owner"], s["why"])
            row = self.db.execute("SELECT subject, body, from_addr FROM messages WHERE id = ?", [claim.message]).fetchone()
            text = f"{row[0]}\n{own_text(row[1])}" if row else ""
            person, route = self.choose(claim.team, claim.evidence.get("country"), text, tried, now, similar)
        state = "proposed" if person else "team"
        self.db.execute(
            "UPDATE inquiry_claims SET state = ?, proposed_to = ?, proposed_at = ?, deadline = ?, tried = ?, route = ?, "
            "updated_at = ? WHERE id = ?",
            [state, person, iso(now) if person else None, iso(now + self.settings.claim_timeout) if person else None,
             json.dumps(tried), f"{route} (after {why} of {person_id})" if person_id else route, iso(now), claim.id],
        )
        updated = get_claim(self.db, claim.id)
        assert updated is not None
        self._announce(updated, now)
        return updated

    # -- chat ----------------------------------------------------------------------------------
    def _announce(self, claim: Claim, now: datetime) -> None:
        if claim.state == "proposed" and claim.proposed_to:
            destination, key = Destination("person", claim.proposed_to, None), f"rules:claim:{claim.id}:{claim.proposed_to}"
            route = "rules: inquiry proposed"
        else:
            team = self.directory.teams.get(claim.team or "")
            found = team_destination(team, "rules: inquiry to the ") if team else None
            if found is None:
                return
            destination, route = found
            key = f"rules:claim:{claim.id}:team"
        reply = self.claim_reply(claim, self._audience(destination))
        enqueue(self.db, key=key, kind="rules", level="claim", now=now, destination=destination, route=route,
                reply=reply)

    def _audience(self, destination: Destination) -> Audience:
        if destination.kind == "team" and destination.team_id:
            return Audience.team(self.directory, destination.team_id)
        person = self.directory.people.get(destination.person_id or "")
        return Audience.person(person) if person is not None else Audience(())

    def claim_reply(self, claim: Claim, audience: Audience) -> Reply:
        """The claim as its audience may see it: subject and sender only when all of them may read the
        inquiry (bot/mail/visibility.py); the customer's name and the routing facts always."""
        row = self.db.execute(
            "SELECT m.subject, m.from_name, m.from_addr, c.name FROM messages m LEFT JOIN customers c "
            "ON c.id = m.customer_id WHERE m.id = ?", [claim.message]).fetchone()
        subject, from_name, from_addr, customer = row if row else ("", "", "", None)
        boxes = message_mailboxes(self.db, [claim.message]).get(claim.message, [])
        readable = self.visibility.may_read(audience, boxes)
        if not readable:
            subject, from_name, from_addr = "", "", ""
            customer = customer or "a customer"
        timeout = self.settings.claim_timeout
        hours = f"{timeout.total_seconds() / 3600:g} h"
        if claim.state == "proposed":
            title = f"New inquiry #{claim.id} for you: {customer or from_addr}"
            note = f"Claim it within {hours}, or pass it on. Proposed because: {claim.route}."
        else:
            title = f"New inquiry #{claim.id} needs an owner: {customer or from_addr}"
            note = f"Nobody claimed it ({', '.join(claim.tried) or 'nobody available'}). Anyone in the team may claim it."
        if readable:
            facts = [("Subject", subject or "(no subject)"),
                     ("From", f"{from_name} <{from_addr}>" if from_name else from_addr)]
        else:
            facts = [("Mail", hidden_note(1, "inquiry message", channel=audience.channel))]
        if claim.evidence.get("country"):
            facts.append(("Country", f"{claim.evidence['country']} ({claim.evidence.get('country_source')})"))
        if claim.evidence.get("similar"):
            s = claim.evidence["similar"]
            facts.append(("Looks like", f"{s['name']} ({s['why']})"))
        buttons = [Button(label="Claim", command=f"/claim {claim.id}", style="primary")]
        if claim.state == "proposed":
            buttons.append(Button(label="Pass", command=f"/pass {claim.id}"))
        return Reply(command="rules.claim", blocks=[heading(title), fields(*facts), context(note)], buttons=buttons,
                     data={"claim": {"id": claim.id, "thread_id": claim.thread_id, "state": claim.state,
                                     "proposed_to": claim.proposed_to, "customer": customer, "route": claim.route}})

    # -- /claim and /pass ----------------------------------------------------------------------
    def _load(self, text: str) -> Claim:
        key = text.strip().lstrip("#").removeprefix("I").removeprefix("i")
        claim = get_claim(self.db, int(key)) if key.isdigit() else None
        if claim is None:
            raise CommandError(f"No inquiry #{text.lstrip('#')} to claim.", code="not_found")
        return claim

    def claim(self, person: Person, text: str, now: datetime) -> dict[str, Any]:
        with write_transaction(self.db):
            claim = self._load(text)
            if claim.state not in ("proposed", "team"):
                who = claim.claimed_by or "someone"
                raise CommandError(f"Inquiry #{claim.id} is {claim.state} already ({who}).", code="closed")
            if not (claim.team in person.teams or has_role(person, "manager")):
                raise CommandError(f"Inquiry #{claim.id} belongs to team {claim.team}.", code="forbidden")
            if claim.customer_id is not None:
                current = owner_of(self.db, claim.customer_id)
                if current is not None and effective_owner(self.db, self.directory, claim.customer_id, now=now)[0]:
                    raise CommandError(f"The customer is owned by {current.person_id} meanwhile.", code="conflict")
            audit_id = self.audit.record(
                person.id, "claim", {"claim": claim.id, "thread_id": claim.thread_id, "customer_id": claim.customer_id,
                                     "proposed_to": claim.proposed_to}, f"inquiry #{claim.id} claimed by {person.id}")
            if claim.customer_id is not None:
                set_owner(self.db, claim.customer_id, person.id, source="assignment", at=now, by=person.id,
                          reason=f"claimed inquiry #{claim.id}", ref=f"audit:{audit_id}")
                self.db.execute("DELETE FROM customer_pool WHERE customer_id = ?", [claim.customer_id])
            self.db.execute("UPDATE inquiry_claims SET state = 'claimed', claimed_by = ?, claimed_at = ?, updated_at = ? "
                            "WHERE id = ?", [person.id, iso(now), iso(now), claim.id])
        return {"id": claim.id, "state": "claimed", "claimed_by": person.id, "customer_id": claim.customer_id,
                "audit_id": audit_id}

    def pass_(self, person: Person, text: str, now: datetime) -> dict[str, Any]:
        with write_transaction(self.db):
            claim = self._load(text)
            if claim.state != "proposed":
                raise CommandError(f"Inquiry #{claim.id} is not waiting on anyone ({claim.state}).", code="closed")
            if claim.proposed_to != person.id and not (has_role(person, "lead") and claim.team in person.teams):
                raise CommandError(f"Inquiry #{claim.id} was proposed to {claim.proposed_to}, not you.", code="forbidden")
            self.audit.record(person.id, "pass", {"claim": claim.id, "proposed_to": claim.proposed_to},
                              f"inquiry #{claim.id} passed by {person.id}")
            updated = self._pass_on(claim, claim.proposed_to, now, why="pass")
        return {"id": updated.id, "state": updated.state, "proposed_to": updated.proposed_to, "tried": updated.tried}

