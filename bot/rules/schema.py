"""The rules feature's tables (migration set "mailroom.rules").

- `category_queue`: messages whose category may need (re)computing, filled by a trigger on every new
  sighting — so mail first seen in inquiry@ and later in order@ is sorted too, whatever path stored it.
- `category_corrections`: `/category` corrections, kept as examples for later sorting (and audited).
- `rule_checks`: one row per message and rule that applied to it, kept or not (the digest's figures).
- `rule_violations`: the rules not kept, unique per message and rule, with evidence and the chat
  notice that told someone (NULL until told; 'stale' when the mail was too old to bother anyone).
- `inquiry_claims`: new inquiries proposed to a person, passed on, claimed.
- `customer_links`: a "new" customer that looks like one somebody owns (collision evidence).
- `customer_pool`, `pool_events`, `pool_requests`: the customer pool (公海) and its history.
- `rules_state`: watermarks and round-robin pointers.
"""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

rules_migrations = Migrations("mailroom.rules")


@rules_migrations()
def m001_rules(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE category_queue (
            message INTEGER PRIMARY KEY
        );
        CREATE TRIGGER category_queue_sighting AFTER INSERT ON sightings
        BEGIN
            INSERT OR IGNORE INTO category_queue (message) VALUES (NEW.message);
        END;

        CREATE TABLE category_corrections (
            id INTEGER PRIMARY KEY,
            message INTEGER NOT NULL,
            message_id TEXT NOT NULL,
            mailbox TEXT NOT NULL,
            old_category TEXT,
            category TEXT NOT NULL,
            example TEXT NOT NULL,            -- the normalised subject kept as an example
            by TEXT NOT NULL,
            at TEXT NOT NULL,
            audit_id INTEGER
        );
        CREATE INDEX category_corrections_message ON category_corrections(message, id);

        CREATE TABLE rule_checks (
            message INTEGER NOT NULL,
            rule TEXT NOT NULL,                -- milestone_cc | subject_convention | quotation_name
            ok INTEGER NOT NULL,
            person_id TEXT,
            customer_id INTEGER,
            at TEXT,                           -- the message's date (UTC ISO)
            PRIMARY KEY (message, rule)
        ) WITHOUT ROWID;
        CREATE INDEX rule_checks_at ON rule_checks(at);

        CREATE TABLE rule_violations (
            id INTEGER PRIMARY KEY,
            message INTEGER NOT NULL,
            message_id TEXT NOT NULL,
            thread_id INTEGER,
            rule TEXT NOT NULL,                -- missing_cc | cc_gap | subject_convention | quotation_name | collision
            person_id TEXT,
            customer_id INTEGER,
            expected TEXT,
            ref TEXT,                          -- cc_gap: the Message-ID the archive never saw
            evidence TEXT NOT NULL DEFAULT '{}',
            at TEXT,                           -- the message's date
            found_at TEXT NOT NULL,
            notice TEXT,                       -- outbox key that told someone; 'stale' / 'none' when nobody was
            UNIQUE (message, rule)
        );
        CREATE INDEX rule_violations_unnoticed ON rule_violations(id) WHERE notice IS NULL;
        CREATE INDEX rule_violations_ref ON rule_violations(ref) WHERE ref IS NOT NULL;
        CREATE INDEX rule_violations_at ON rule_violations(at);

        CREATE TABLE inquiry_claims (
            id INTEGER PRIMARY KEY,
            thread_id INTEGER NOT NULL UNIQUE,
            message INTEGER NOT NULL,
            customer_id INTEGER,
            mailbox TEXT NOT NULL,
            team TEXT,
            state TEXT NOT NULL,               -- proposed | team | claimed | answered | closed
            proposed_to TEXT,
            proposed_at TEXT,
            deadline TEXT,
            tried TEXT NOT NULL DEFAULT '[]',  -- people who passed or let it time out
            route TEXT NOT NULL DEFAULT '',    -- why the current person: rule, round robin, similar customer
            evidence TEXT NOT NULL DEFAULT '{}',
            claimed_by TEXT,
            claimed_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX inquiry_claims_open ON inquiry_claims(deadline) WHERE state IN ('proposed', 'team');

        CREATE TABLE customer_links (
            customer_id INTEGER NOT NULL,
            similar_to INTEGER NOT NULL,
            evidence TEXT NOT NULL,
            found_at TEXT NOT NULL,
            PRIMARY KEY (customer_id, similar_to)
        ) WITHOUT ROWID;

        CREATE TABLE customer_pool (
            customer_id INTEGER PRIMARY KEY,
            since TEXT NOT NULL,
            from_person TEXT,
            last_contact TEXT
        );
        CREATE TABLE pool_events (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            kind TEXT NOT NULL,                -- warned | moved | claimed | requested | approved | refused
            person_id TEXT,                    -- the owner (warned, moved) or the claimer
            by TEXT NOT NULL,
            at TEXT NOT NULL,
            baseline TEXT,                     -- the owner's last contact the warning/move was computed from
            audit_id INTEGER
        );
        CREATE INDEX pool_events_customer ON pool_events(customer_id, kind, at);
        CREATE INDEX pool_events_at ON pool_events(at);
        CREATE TABLE pool_requests (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL,
            person_id TEXT NOT NULL,
            state TEXT NOT NULL,               -- pending | approved | refused
            requested_at TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT
        );

        CREATE TABLE rules_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )
