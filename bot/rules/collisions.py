"""Collision alerts (撞单): two salespeople on one customer, told privately before anyone quotes twice.

A collision is mail from or to a customer owned by A that involves B — B writes to the customer, or
the customer writes to B's own address — where A and B both belong to the owning teams (default: the
teams of the inquiry mailboxes; merchandisers and after-sales answering A's customers are their job,
not a collision), B is not A's backup or stand-in, and B is not a manager.

A "new" customer can be an owned one in disguise: a subdomain of an owned customer's domain, a company
name close to one (the matcher's normalisation and scorer, bot/customers/matching.py), or the same contact
person writing from another address. `similar_owned` finds that when a new inquiry comes in; the link
is kept (`customer_links`) so B's later mail to the "new" customer is a collision with A.

Evidence for both: first and last contact of each, message counts, and B's threads with the customer.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz, process
from sqlite_utils import Database

from bot.core.clock import iso
from bot.core.directory import Directory
from bot.core.permissions import has_role
from bot.customers.book import customer_row, name_from_subject
from bot.customers.inference import effective_owner
from bot.customers.matching import name_key, parent_domains, similarity
from bot.rules.mail import MailRow
from bot.rules.settings import Rules
from bot.rules.violations import Finding
from bot.sla.away import stand_in

_LOCAL = re.compile(r"^[a-z]+[._][a-z]+")


@dataclass(frozen=True)
class Similar:
    customer_id: int
    name: str
    owner: str
    why: str


class CollisionChecker:
    def __init__(self, db: Database, directory: Directory, rules: Rules, now: datetime):
        self.db = db
        self.directory = directory
        self.rules = rules
        self.now = now
        self._owned: tuple[list[int], list[str]] | None = None
        self._owners: dict[int, tuple[str | None, str]] = {}

    def owner(self, customer_id: int) -> tuple[str | None, str]:
        """`effective_owner`, remembered for this checker's life (one scan): inference reads all of a
        customer's mail, and a bulk import brings many messages per customer."""
        found = self._owners.get(customer_id)
        if found is None:
            found = self._owners[customer_id] = effective_owner(self.db, self.directory, customer_id, now=self.now)
        return found

    # -- who may collide -----------------------------------------------------------------------
    def in_owner_teams(self, person_id: str | None) -> bool:
        person = self.directory.people.get(person_id or "")
        return person is not None and bool(set(person.teams) & set(self.rules.owner_teams))

    def eligible(self, owner: str | None, other: str | None) -> bool:
        if not owner or not other or owner == other:
            return False
        if not (self.in_owner_teams(owner) and self.in_owner_teams(other)):
            return False
        other_person = self.directory.people[other]
        if has_role(other_person, "manager"):
            return False
        owner_person = self.directory.people[owner]
        if owner_person.backup == other:
            return False
        return stand_in(self.db, owner, self.now)[0] != other

    # -- checking a message --------------------------------------------------------------------
    def check(self, row: MailRow) -> Finding | None:
        if row.automatic or row.customer_id is None or not self.rules.collisions.enabled:
            return None
        if row.direction == "outbound" and row.person_id:
            others = [row.person_id]
        elif row.direction == "inbound":
            others = [p.id for a in row.recipients if (p := self.directory.person_by_email(a)) is not None]
        else:
            return None
        owner, source = self.owner(row.customer_id)
        similar: Similar | None = None
        if owner is None or owner in others:
            similar = self.linked(row.customer_id)
            if similar is not None:
                owner, source = similar.owner, "owner of a similar customer"
        for other in dict.fromkeys(others):
            if self.eligible(owner, other):
                assert owner is not None
                return Finding(
                    message=row.id, message_id=row.message_id, thread_id=row.thread_id, rule="collision",
                    person_id=other, customer_id=row.customer_id, expected=owner, at=row.date,
                    evidence=self.evidence(row.customer_id, owner, other, source, similar),
                )
        return None

    def evidence(self, customer_id: int, owner: str, other: str, source: str, similar: Similar | None) -> dict[str, Any]:
        contacts = {}
        for person_id in (owner, other):
            facts = self.contact_facts(similar.customer_id if similar and person_id == owner else customer_id, person_id)
            if facts:
                contacts[person_id] = facts
        threads = [
            {"id": r[0], "subject": r[1]}
            for r in self.db.execute(
                "SELECT DISTINCT m.thread_id, t.subject FROM messages m JOIN threads t ON t.id = m.thread_id "
                "WHERE m.customer_id = ? AND (m.person_id = ? OR m.to_addrs LIKE ? OR m.cc_addrs LIKE ?) "
                "ORDER BY m.thread_id DESC LIMIT 5",
                [customer_id, other, *(2 * [self._like(other)])],
            )
        ]
        out: dict[str, Any] = {"owner": owner, "owner_source": source, "other": other, "contacts": contacts,
                               "threads": threads}
        if similar is not None:
            out.update(similar_to=similar.name, similar_id=similar.customer_id, why=similar.why)
        return out

    def contact_facts(self, customer_id: int, person_id: str) -> dict[str, Any] | None:
        like = self._like(person_id)
        row = self.db.execute(
            "SELECT min(date), max(date), count(*) FROM messages WHERE customer_id = ? AND auto_submitted = 0 AND "
            "((direction = 'outbound' AND person_id = ?) OR (direction = 'inbound' AND (to_addrs LIKE ? OR cc_addrs LIKE ?)))",
            [customer_id, person_id, like, like],
        ).fetchone()
        if not row or not row[2]:
            return None
        return {"first": row[0], "last": row[1], "messages": row[2]}

    def _like(self, person_id: str) -> str:
        person = self.directory.people.get(person_id)
        return f'%"{person.email}"%' if person else "%\x00%"

    # -- similar customers ---------------------------------------------------------------------
    def linked(self, customer_id: int) -> Similar | None:
        for similar_to, evidence in self.db.execute(
            "SELECT similar_to, evidence FROM customer_links WHERE customer_id = ? ORDER BY found_at", [customer_id]
        ):
            owner, _ = self.owner(similar_to)
            if owner:
                facts = json.loads(evidence)
                return Similar(similar_to, facts.get("name", ""), owner, facts.get("why", "similar"))
        return None

    def similar_owned(self, customer_id: int, row: MailRow | None = None) -> Similar | None:
        """An owned customer this (new) customer looks like: subdomain, same contact, or a close name."""
        record = customer_row(self.db, customer_id)
        if record is None:
            return None
        candidates: list[tuple[int, str]] = []
        for domain in record["domains"]:
            for parent in parent_domains(str(domain))[1:]:
                for (found,) in self.db.execute("SELECT customer_id FROM customer_keys WHERE key = ?", [parent]):
                    candidates.append((found, f"same domain {parent}"))
        if row is not None:
            candidates += self._same_contact(customer_id, row)
        names = [str(record["name"])]
        if row is not None:
            rfq = name_from_subject(row.subject)
            if rfq:
                names.append(rfq)
        candidates += self._close_names(customer_id, names)
        for found, why in candidates:
            if found == customer_id:
                continue
            owner, _ = self.owner(found)
            if owner:
                other = customer_row(self.db, found)
                name = str(other["name"]) if other else str(found)
                return Similar(found, name, owner, why)
        return None

    def remember(self, customer_id: int, similar: Similar) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO customer_links (customer_id, similar_to, evidence, found_at) VALUES (?, ?, ?, ?)",
            [customer_id, similar.customer_id, json.dumps({"name": similar.name, "why": similar.why},
                                                          ensure_ascii=False), iso(self.now)],
        )

    def _same_contact(self, customer_id: int, row: MailRow) -> list[tuple[int, str]]:
        found: list[tuple[int, str]] = []
        name = row.from_name.strip()
        if len(name) >= 5 and (" " in name or len(name) >= 2 and not name.isascii()):
            for (other,) in self.db.execute(
                "SELECT DISTINCT customer_id FROM messages WHERE direction = 'inbound' AND lower(from_name) = lower(?) "
                "AND customer_id IS NOT NULL AND customer_id <> ? LIMIT 5", [name, customer_id]
            ):
                found.append((other, f"same contact {name}"))
        local = row.from_addr.partition("@")[0].lower()
        if _LOCAL.match(local) and len(local) >= 6:
            for (other,) in self.db.execute(
                "SELECT id FROM customers WHERE contacts LIKE ? AND id <> ? LIMIT 5", [f'%"{local}@%', customer_id]
            ):
                found.append((other, f"same contact {local}@…"))
        return found

    def _close_names(self, customer_id: int, names: list[str]) -> list[tuple[int, str]]:
        ids, keys = self._owned_keys()
        found: list[tuple[int, str]] = []
        cutoff = self.rules.collisions.name_score
        for name in names:
            key = name_key(name)
            if len(key.replace(" ", "")) < 3 or not keys:
                continue
            for _, _, position in process.extract(key, keys, scorer=fuzz.WRatio, processor=None, limit=5,
                                                  score_cutoff=cutoff - 10):
                other = ids[position]
                if other == customer_id:
                    continue
                score = similarity(key, key.replace(" ", ""), keys[position], keys[position].replace(" ", ""))
                if score >= cutoff:
                    found.append((other, f"similar name “{name}” (score {score:.0f})"))
        return found

    def _owned_keys(self) -> tuple[list[int], list[str]]:
        """Normalised names and aliases of every customer someone owns or has written to."""
        if self._owned is None:
            ids: list[int] = []
            keys: list[str] = []
            rows = self.db.execute(
                "SELECT id, name, aliases FROM customers WHERE id IN (SELECT customer_id FROM ownership UNION "
                "SELECT customer_id FROM messages WHERE direction = 'outbound' AND person_id IS NOT NULL)"
            ).fetchall()
            for customer_id, name, aliases in rows:
                for text in [name, *json.loads(aliases or "[]")]:
                    key = name_key(text)
                    if key:
                        ids.append(customer_id)
                        keys.append(key)
            self._owned = (ids, keys)
        return self._owned
