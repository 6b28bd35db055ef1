"""Customers: who a mail address belongs to, from the CRM export and from the mail itself.

A customer is known by its domains; at free-mail providers (gmail.com, qq.com, …) by the full address.
"""

import hashlib
import json
import re
from typing import Any

from sqlite_utils import Database

from bot.core.config import Config
from bot.core.crm import CrmUnreadable, find_owner, read_crm
from bot.core.directory import FREE_MAIL_DOMAINS, Directory, domain_of
from bot.store.db import write_transaction

_RFQ_SUBJECT = re.compile(r"^\s*\[RFQ\]\s*-\s*([^-]+?)\s*-", re.IGNORECASE)
_LEGAL = re.compile(r"\b(gmbh|ltd|llc|inc|co|corp|limited|sa|srl|bv|ag|kg)\b\.?", re.IGNORECASE)


def customer_key(address: str, directory: Directory) -> str:
    """The key a customer is found by: the domain, or the address at a free-mail provider."""
    address = address.lower()
    domain = domain_of(address)
    return address if domain in directory.free_mail else domain


def name_from_domain(domain: str) -> str:
    """'acme-trading.de' → 'Acme Trading'."""
    labels = domain.split(".")
    core = labels[-2] if len(labels) >= 2 else labels[0]
    if len(labels) >= 3 and labels[-2] in ("co", "com", "net", "org", "ac", "gov") and len(labels[-1]) == 2:
        core = labels[-3]
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", core) if part)


def name_from_subject(subject: str) -> str | None:
    """The guide's convention '[RFQ]-Customer-Product-Date' names the customer."""
    match = _RFQ_SUBJECT.match(subject or "")
    return match.group(1).strip() if match else None


class CustomerBook:
    """Customer lookup and creation; keeps key → id in memory for fast imports."""

    def __init__(self, db: Database, directory: Directory):
        self.db = db
        self.directory = directory
        self._keys: dict[str, int] = dict(db.execute("SELECT key, customer_id FROM customer_keys").fetchall())

    def find(self, address: str) -> int | None:
        address = address.lower()
        return self._keys.get(address) or self._keys.get(customer_key(address, self.directory))

    def find_or_create(self, address: str, *, display_name: str, subject: str, now: str) -> int:
        found = self.find(address)
        if found:
            return found
        key = customer_key(address, self.directory)
        if key == address:
            name = display_name or address
            domains: list[str] = []
            contacts = [address]
        else:
            name = name_from_subject(subject) or name_from_domain(key)
            domains = [key]
            contacts = [address]
        cursor = self.db.execute(
            "INSERT INTO customers (name, domains, aliases, contacts, country, source, created_at) "
            "VALUES (?, ?, '[]', ?, '', 'mail', ?)",
            [name, json.dumps(domains), json.dumps(contacts), now],
        )
        customer_id = int(cursor.lastrowid or 0)
        self._add_key(key, customer_id)
        return customer_id

    def _add_key(self, key: str, customer_id: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO customer_keys (key, customer_id) VALUES (?, ?)", [key, customer_id])
        self._keys.setdefault(key, customer_id)


def load_crm_if_changed(db: Database, config: Config, directory: Directory, now: str) -> int:
    """Load the CRM CSV when its size or mtime (or the people list) changed since the last load; returns rows
    read."""
    if config.customers.csv is None:
        return 0
    path = config.resolve(config.customers.csv)
    stat = path.stat()
    people = hashlib.sha256(json.dumps([[p.id, p.email, p.name] for p in config.people]).encode()).hexdigest()[:12]
    stamp = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{people}"  # a person added names a CRM owner
    row = db.execute("SELECT value FROM meta WHERE key = 'crm_loaded'").fetchone()
    if row and row[0] == stamp:
        return 0
    count = load_crm(db, config, directory, now)
    with write_transaction(db):
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('crm_loaded', ?)", [stamp])
    return count


def load_crm(db: Database, config: Config, directory: Directory, now: str) -> int:
    """Load (or refresh) customers and their explicit owners from the CRM CSV; returns rows read.

    Rows with problems are loaded without the bad values (see `crm_problems` for the lines); an owner
    who is not a configured person is kept in `crm_rows` so that /owner can name them."""
    if config.customers.csv is None:
        return 0
    rows = read_crm(config.resolve(config.customers.csv), people=config.people, free_mail=directory.free_mail).rows
    book = CustomerBook(db, directory)
    with write_transaction(db):
        for row in rows:
            keys = row.domains + row.contacts
            existing = next((book.find(k) for k in keys if book.find(k)), None)
            if existing is None:
                existing = db.execute("SELECT id FROM customers WHERE name = ? AND source = 'crm'", [row.name]).fetchone()
                existing = existing[0] if existing else None
            values = [row.name, json.dumps(row.domains), json.dumps(row.aliases), json.dumps(row.contacts), row.country]
            if existing is None:
                cursor = db.execute(
                    "INSERT INTO customers (name, domains, aliases, contacts, country, source, created_at) "
                    "VALUES (?, ?, ?, ?, ?, 'crm', ?)",
                    [*values, now],
                )
                existing = int(cursor.lastrowid or 0)
            else:
                db.execute(
                    "UPDATE customers SET name = ?, domains = ?, aliases = ?, contacts = ?, country = ?, source = 'crm' "
                    "WHERE id = ?",
                    [*values, existing],
                )
            for key in row.domains + row.contacts:
                db.execute("INSERT OR REPLACE INTO customer_keys (key, customer_id) VALUES (?, ?)", [key, existing])
                book._keys[key] = existing
            person = find_owner(row.owner, directory.by_name) if row.owner else None
            db.execute(
                "INSERT OR REPLACE INTO crm_rows (customer_id, owner, owner_known, owner_since, read_at, line) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [existing, row.owner, person is not None, row.owner_since, now, row.line],
            )
            if person is not None:
                _set_crm_owner(db, existing, person.id, f"{row.owner_since}T12:00:00Z" if row.owner_since else now,
                               dated=row.owner_since is not None)
    return len(rows)


def crm_problems(config: Config) -> list[str]:
    """One line per problem of the configured CRM export — `FILE:LINE: column COL: what` — for `doctor`
    and for `import` / `run` at start (an unknown owner, a domain on two customers, a malformed e-mail,
    a free-mail domain, a bad date). Never raises; [] without a CRM."""
    if config.customers.csv is None:
        return []
    path = config.resolve(config.customers.csv)
    try:
        crm = read_crm(path, people=config.people,
                       free_mail=FREE_MAIL_DOMAINS | frozenset(config.customers.free_mail_domains))
    except CrmUnreadable as exc:
        return [str(exc)]
    return crm.problems


def crm_row(db: Database, customer_id: int) -> dict[str, object] | None:
    """What the CRM export said of a customer at its last read: owner cell, known or not, dates."""
    row = db.execute("SELECT owner, owner_known, owner_since, read_at, line FROM crm_rows WHERE customer_id = ?",
                     [customer_id]).fetchone()
    if row is None:
        return None
    return {"owner": row[0], "owner_known": bool(row[1]), "owner_since": row[2], "read_at": row[3], "line": row[4]}


def _set_crm_owner(db: Database, customer_id: int, person_id: str, now: str, *, dated: bool = False) -> None:
    """The CRM sets an owner unless someone changed it in Mailroom since (assignment, handover).
    `dated`: `now` is the CRM's own date for the owner, which corrects the date of an unchanged owner."""
    current = db.execute("SELECT person_id, source, since FROM ownership WHERE customer_id = ?",
                         [customer_id]).fetchone()
    if current and current[1] == "crm" and current[0] == person_id and dated and current[2] != now:
        db.execute("UPDATE ownership SET since = ? WHERE customer_id = ?", [now, customer_id])
        return
    if current and (current[1] != "crm" or current[0] == person_id):
        return
    db.execute(
        "INSERT OR REPLACE INTO ownership (customer_id, person_id, source, since, by, reason) "
        "VALUES (?, ?, 'crm', ?, 'crm', 'CRM export')",
        [customer_id, person_id, now],
    )
    db.execute(
        "INSERT INTO ownership_history (customer_id, from_person, to_person, source, at, by, reason) "
        "VALUES (?, ?, ?, 'crm', ?, 'crm', 'CRM export')",
        [customer_id, current[0] if current else None, person_id, now],
    )


def customer_row(db: Database, customer_id: int) -> dict[str, Any] | None:
    row = db.execute("SELECT * FROM customers WHERE id = ?", [customer_id]).fetchone()
    if row is None:
        return None
    columns = [d[0] for d in db.execute("SELECT * FROM customers LIMIT 0").description]
    record = dict(zip(columns, row, strict=True))
    for field in ("domains", "aliases", "contacts"):
        record[field] = json.loads(str(record[field]))
    return record


def strip_legal(name: str) -> str:
    return _LEGAL.sub(" ", name).strip()


