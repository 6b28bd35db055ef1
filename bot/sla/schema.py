"""The SLA engine's tables (migration set "mailroom.sla"): items, alerts (the outbox), deliveries, away.

Instants the engine computes with are epoch seconds (INTEGER): comparisons and arithmetic in SQL stay
cheap for 100,000 open items. Text timestamps (ISO, UTC) are used where people read rows directly.

`sla_dirty` is filled by triggers whenever a message is stored, re-threaded or seen in another
mailbox, so an incremental evaluation looks at exactly the threads touched since the last one — and
nothing written by import, sync or any other path can slip past it.
"""

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

sla_migrations = Migrations("mailroom.sla")


@sla_migrations()
def m001_sla(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sla_items (
            id INTEGER PRIMARY KEY,
            message INTEGER NOT NULL,          -- messages.id of the waiting customer message
            thread_id INTEGER NOT NULL,
            mailbox TEXT NOT NULL,             -- the shared mailbox (alias targets, not aliases)
            kind TEXT NOT NULL,                -- first_response | initial_solution
            policy TEXT NOT NULL,              -- name of the [sla.NAME] policy
            started INTEGER NOT NULL,          -- epoch seconds: when the clock started
            warn_at INTEGER NOT NULL,          -- epoch instants of the levels, on the policy's calendar
            due_at INTEGER NOT NULL,
            escalate_at INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,         -- the policy version the instants were computed with
            state TEXT NOT NULL DEFAULT 'ok',  -- as of the last evaluation: ok | warning | breached | escalated
            alerted INTEGER NOT NULL DEFAULT 0, -- highest level enqueued: 0 none, 1 warning, 2 breached, 3 escalated
            created_at INTEGER NOT NULL,
            closed_at INTEGER,                 -- NULL while open
            close_reason TEXT,                 -- replied | solved | resolved | superseded | dropped
            closed_by TEXT,                    -- message id (RFC) of the reply, or the person who resolved
            acked_at INTEGER,
            acked_by TEXT,
            snoozed_until INTEGER,
            snoozed_by TEXT,
            UNIQUE (message, mailbox, kind)
        );
        CREATE INDEX sla_items_open ON sla_items(thread_id) WHERE closed_at IS NULL;
        CREATE INDEX sla_items_thread ON sla_items(thread_id, kind);
        CREATE INDEX sla_items_closed ON sla_items(closed_at) WHERE closed_at IS NOT NULL;

        CREATE TABLE sla_dirty (
            thread_id INTEGER PRIMARY KEY
        );

        CREATE TRIGGER sla_dirty_message AFTER INSERT ON messages
        WHEN NEW.thread_id IS NOT NULL
        BEGIN
            INSERT OR IGNORE INTO sla_dirty (thread_id) VALUES (NEW.thread_id);
        END;

        CREATE TRIGGER sla_dirty_message_update
        AFTER UPDATE OF thread_id, date, direction, auto_submitted, is_bounce, is_list ON messages
        BEGIN
            INSERT OR IGNORE INTO sla_dirty (thread_id) SELECT NEW.thread_id WHERE NEW.thread_id IS NOT NULL;
            INSERT OR IGNORE INTO sla_dirty (thread_id) SELECT OLD.thread_id WHERE OLD.thread_id IS NOT NULL;
        END;

        CREATE TRIGGER sla_dirty_sighting AFTER INSERT ON sightings
        BEGIN
            INSERT OR IGNORE INTO sla_dirty (thread_id)
            SELECT thread_id FROM messages WHERE id = NEW.message AND thread_id IS NOT NULL;
        END;

        CREATE TABLE sla_alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,          -- idempotency key, also sent to the platforms
            kind TEXT NOT NULL,                -- sla | digest
            item INTEGER,                      -- sla_items.id (NULL for digests)
            level TEXT NOT NULL,               -- warning | breached | escalated | digest
            created_at TEXT NOT NULL,
            dest_kind TEXT,                    -- person | team (NULL: nobody may receive it)
            dest_person TEXT,
            dest_team TEXT,
            route TEXT NOT NULL,               -- why this destination: owner, backup, team, manager, ...
            reply TEXT NOT NULL,               -- the Reply, as JSON
            status TEXT NOT NULL DEFAULT 'pending', -- pending | done | stale | undeliverable | obsolete
            done_at TEXT
        );
        CREATE UNIQUE INDEX sla_alerts_item_level ON sla_alerts(item, level) WHERE item IS NOT NULL;
        CREATE INDEX sla_alerts_pending ON sla_alerts(id) WHERE status = 'pending';

        CREATE TABLE sla_deliveries (
            alert INTEGER NOT NULL,
            platform TEXT NOT NULL,
            status TEXT NOT NULL,              -- pending | sending | sent | skipped | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at TEXT NOT NULL,
            claimed_at TEXT,
            sent_at TEXT,
            last_error TEXT,
            PRIMARY KEY (alert, platform)
        ) WITHOUT ROWID;

        CREATE TABLE away (
            person_id TEXT PRIMARY KEY,
            since TEXT NOT NULL,
            until TEXT NOT NULL,               -- ISO instant (UTC); away while now < until
            backup TEXT NOT NULL,
            set_by TEXT NOT NULL,
            set_at TEXT NOT NULL
        );
        """
    )


ACK_PREFIXES = (
    "ap", "be", "br", "ch", "da", "dz", "go", "gr", "ha", "ki", "ma", "me", "mu", "no", "ob", "ok", "pe", "re",
    "si", "ta", "th", "ty", "vi", "we", "wi", "yo", "了解", "多谢", "好的", "已收", "感谢", "我们", "收到", "敬礼",
    "此致", "知悉", "确认", "祝好", "稍后", "谢谢", "辛苦", "非常",
)
"""First two letters of every acknowledgement phrase (bot.sla.text_rules), frozen with this migration: a
customer message is tested as a possible acknowledgement only when it is short and starts like one."""


def _maybe_ack(table: str) -> str:
    prefixes = ", ".join(f"'{p}'" for p in ACK_PREFIXES)
    return (f"(length(CAST({table}.body AS BLOB)) <= 600 AND lower(substr(ltrim({table}.body, ' ' || char(9, 10, 13)), "
            f"1, 2)) IN ({prefixes}))")


_EPOCH_M = "CAST(strftime('%s', COALESCE(m.date, m.archived_at)) AS INTEGER)"
_EPOCH_NEW = "CAST(strftime('%s', COALESCE(NEW.date, NEW.archived_at)) AS INTEGER)"
_CUSTOMER = "{t}.direction = 'inbound' AND {t}.auto_submitted = 0 AND {t}.is_bounce = 0 AND {t}.is_list = 0"
_REPLY = "{t}.direction = 'outbound' AND {t}.auto_submitted = 0 AND {t}.is_bounce = 0 AND {t}.is_list = 0"


@sla_migrations()
def m002_sla_mail(db: Database) -> None:
    """The SLA's compact view of the archive, kept by triggers, so evaluation never scans `messages`.

    - `sla_mail`: one row per customer message and shared mailbox it was seen in (mailbox = the
      shared mailbox), one per human reply (mailbox = ''). Auto-replies, bounces, lists and internal
      mail never get a row. Clustered by thread: (thread_id, mailbox, at, message).
    - `sla_open`: per thread and shared mailbox, the oldest customer message with no human reply at
      or after it — the first-response clock, before the two rules that need Python (a bare
      acknowledgement does not wait; `/sla resolve` stops a clock), which evaluation applies.
    - `sla_first`: per thread and shared mailbox, the first customer message (initial solution).
    Both summaries are maintained row by row as mail arrives in any order, so a full evaluation
    reads one row per open thread instead of every message of the archive.
    """
    db.executescript(
        f"""
        CREATE TABLE sla_mail (
            thread_id INTEGER NOT NULL,
            mailbox TEXT NOT NULL,
            at INTEGER NOT NULL,               -- epoch seconds of the message's Date (else of its archiving)
            message INTEGER NOT NULL,
            maybe_ack INTEGER NOT NULL DEFAULT 0, -- 0 no; 1 might be a bare acknowledgement (unjudged); 2 is one
            solution INTEGER,                  -- replies: proposes a solution (1) or not (0); NULL: not judged yet
            PRIMARY KEY (thread_id, mailbox, at, message)
        ) WITHOUT ROWID;
        CREATE INDEX sla_mail_unjudged_replies ON sla_mail(thread_id) WHERE mailbox = '' AND solution IS NULL;

        CREATE TABLE sla_open (
            thread_id INTEGER NOT NULL,
            mailbox TEXT NOT NULL,
            message INTEGER NOT NULL,
            at INTEGER NOT NULL,
            maybe_ack INTEGER NOT NULL,
            PRIMARY KEY (thread_id, mailbox)
        ) WITHOUT ROWID;

        CREATE TABLE sla_first (
            thread_id INTEGER NOT NULL,
            mailbox TEXT NOT NULL,
            message INTEGER NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (thread_id, mailbox)
        ) WITHOUT ROWID;

        CREATE TRIGGER sla_mail_customer_row AFTER INSERT ON sla_mail
        WHEN NEW.mailbox <> ''
        BEGIN
            INSERT INTO sla_first (thread_id, mailbox, message, at)
            SELECT NEW.thread_id, NEW.mailbox, NEW.message, NEW.at WHERE 1
            ON CONFLICT (thread_id, mailbox) DO UPDATE SET message = excluded.message, at = excluded.at
            WHERE excluded.at < sla_first.at OR (excluded.at = sla_first.at AND excluded.message < sla_first.message);
            INSERT INTO sla_open (thread_id, mailbox, message, at, maybe_ack)
            SELECT NEW.thread_id, NEW.mailbox, NEW.message, NEW.at, NEW.maybe_ack
            WHERE NOT EXISTS (SELECT 1 FROM sla_mail r
                              WHERE r.thread_id = NEW.thread_id AND r.mailbox = '' AND r.at >= NEW.at)
            ON CONFLICT (thread_id, mailbox) DO UPDATE
            SET message = excluded.message, at = excluded.at, maybe_ack = excluded.maybe_ack
            WHERE excluded.at < sla_open.at OR (excluded.at = sla_open.at AND excluded.message < sla_open.message);
        END;

        CREATE TRIGGER sla_mail_reply_row AFTER INSERT ON sla_mail
        WHEN NEW.mailbox = ''
        BEGIN
            DELETE FROM sla_open WHERE thread_id = NEW.thread_id AND at <= NEW.at;
            INSERT INTO sla_open (thread_id, mailbox, message, at, maybe_ack)
            SELECT c.thread_id, c.mailbox, c.message, min(c.at), c.maybe_ack
            FROM sla_mail c
            WHERE c.thread_id = NEW.thread_id AND c.mailbox <> ''
              AND c.at > (SELECT max(r.at) FROM sla_mail r WHERE r.thread_id = NEW.thread_id AND r.mailbox = '')
              AND NOT EXISTS (SELECT 1 FROM sla_open o WHERE o.thread_id = c.thread_id AND o.mailbox = c.mailbox)
            GROUP BY c.mailbox;
        END;

        CREATE TRIGGER sla_mail_row_deleted AFTER DELETE ON sla_mail
        BEGIN
            DELETE FROM sla_open WHERE thread_id = OLD.thread_id;
            DELETE FROM sla_first WHERE thread_id = OLD.thread_id;
            INSERT INTO sla_first (thread_id, mailbox, message, at)
            SELECT thread_id, mailbox, message, min(at) FROM sla_mail
            WHERE thread_id = OLD.thread_id AND mailbox <> '' GROUP BY mailbox;
            INSERT INTO sla_open (thread_id, mailbox, message, at, maybe_ack)
            SELECT c.thread_id, c.mailbox, c.message, min(c.at), c.maybe_ack FROM sla_mail c
            WHERE c.thread_id = OLD.thread_id AND c.mailbox <> ''
              AND c.at > COALESCE((SELECT max(r.at) FROM sla_mail r
                                   WHERE r.thread_id = OLD.thread_id AND r.mailbox = ''), -1)
            GROUP BY c.mailbox;
        END;

        CREATE TRIGGER sla_mail_judged AFTER UPDATE OF maybe_ack ON sla_mail
        BEGIN
            UPDATE sla_open SET maybe_ack = NEW.maybe_ack
            WHERE thread_id = NEW.thread_id AND mailbox = NEW.mailbox AND message = NEW.message;
        END;

        INSERT OR IGNORE INTO sla_mail (thread_id, mailbox, at, message, maybe_ack)
        SELECT m.thread_id, s.mailbox, {_EPOCH_M}, m.id, {_maybe_ack("m")}
        FROM messages m JOIN sightings s ON s.message = m.id
        WHERE m.thread_id IS NOT NULL AND s.mailbox <> '' AND {_CUSTOMER.format(t="m")};

        INSERT OR IGNORE INTO sla_mail (thread_id, mailbox, at, message, maybe_ack)
        SELECT m.thread_id, '', {_EPOCH_M}, m.id, 0
        FROM messages m WHERE m.thread_id IS NOT NULL AND {_REPLY.format(t="m")};

        CREATE TRIGGER sla_mail_reply AFTER INSERT ON messages
        WHEN NEW.thread_id IS NOT NULL AND {_REPLY.format(t="NEW")}
        BEGIN
            INSERT OR IGNORE INTO sla_mail (thread_id, mailbox, at, message, maybe_ack)
            VALUES (NEW.thread_id, '', {_EPOCH_NEW}, NEW.id, 0);
        END;

        CREATE TRIGGER sla_mail_customer AFTER INSERT ON sightings
        WHEN NEW.mailbox <> ''
        BEGIN
            INSERT OR IGNORE INTO sla_mail (thread_id, mailbox, at, message, maybe_ack)
            SELECT m.thread_id, NEW.mailbox, {_EPOCH_M}, m.id, {_maybe_ack("m")}
            FROM messages m
            WHERE m.id = NEW.message AND m.thread_id IS NOT NULL AND {_CUSTOMER.format(t="m")};
        END;

        CREATE TRIGGER sla_mail_update
        AFTER UPDATE OF thread_id, date, archived_at, direction, auto_submitted, is_bounce, is_list, body ON messages
        BEGIN
            DELETE FROM sla_mail WHERE thread_id = OLD.thread_id AND message = OLD.id;
            INSERT OR IGNORE INTO sla_mail (thread_id, mailbox, at, message, maybe_ack)
            SELECT NEW.thread_id, '', {_EPOCH_NEW}, NEW.id, 0
            WHERE NEW.thread_id IS NOT NULL AND {_REPLY.format(t="NEW")};
            INSERT OR IGNORE INTO sla_mail (thread_id, mailbox, at, message, maybe_ack)
            SELECT NEW.thread_id, s.mailbox, {_EPOCH_NEW}, NEW.id, {_maybe_ack("NEW")}
            FROM sightings s
            WHERE s.message = NEW.id AND s.mailbox <> '' AND NEW.thread_id IS NOT NULL AND {_CUSTOMER.format(t="NEW")};
        END;

        CREATE TRIGGER sla_mail_delete AFTER DELETE ON messages
        BEGIN
            DELETE FROM sla_mail WHERE thread_id = OLD.thread_id AND message = OLD.id;
        END;

        CREATE INDEX sla_items_resolved ON sla_items(thread_id, mailbox, closed_at)
        WHERE close_reason = 'resolved' AND kind = 'first_response';
        DROP INDEX sla_items_thread;
        CREATE INDEX sla_items_reopenable ON sla_items(message) WHERE close_reason IN ('superseded', 'dropped');
        """
    )


@sla_migrations()
def m003_sla_solutions(db: Database) -> None:
    """Solution verdicts in a table of their own, keyed by the reply.

    Judging the human replies of after-sales threads once (`mailroom_has_solution`, Python) and
    remembering the verdict used to rewrite those rows of `sla_mail`, scattered across the whole
    clustered table: a first evaluation of 100,000 threads dirtied most of its pages. Verdicts are
    appended here instead (in message order), and they belong to the reply's text, not to its place
    in a thread: a changed subject or body forgets it. `sla_mail.solution` is no longer used.
    """
    db.executescript(
        """
        CREATE TABLE sla_solutions (
            message INTEGER PRIMARY KEY,       -- messages.id of a human reply
            solution INTEGER NOT NULL          -- proposes a solution (1) or not (0), on the keywords of
                                               -- meta 'sla.solution_keywords'
        );
        INSERT OR IGNORE INTO sla_solutions (message, solution)
        SELECT message, solution FROM sla_mail WHERE mailbox = '' AND solution IS NOT NULL;
        UPDATE sla_mail SET solution = NULL WHERE solution IS NOT NULL;
        DROP INDEX sla_mail_unjudged_replies;

        CREATE TRIGGER sla_solutions_text AFTER UPDATE OF subject, body ON messages
        BEGIN
            DELETE FROM sla_solutions WHERE message = OLD.id;
        END;

        CREATE TRIGGER sla_solutions_deleted AFTER DELETE ON messages
        BEGIN
            DELETE FROM sla_solutions WHERE message = OLD.id;
        END;
        """
    )


@sla_migrations()
def m004_summaries_by_mailbox(db: Database) -> None:
    """The summaries again, by mailbox (covering): a full evaluation reads each mailbox's clocks alone, in
    thread order, instead of the whole summary once per mailbox (inquiry@ is half of it, support@ a quarter)."""
    db.executescript(
        """
        CREATE INDEX sla_open_by_mailbox ON sla_open (mailbox, thread_id, at, message, maybe_ack);
        CREATE INDEX sla_first_by_mailbox ON sla_first (mailbox, thread_id, at, message);
        """
    )


_M005_ITEM_COLUMNS = (  # (frozen with m005)
    "id, message, thread_id, mailbox, kind, policy, started, warn_at, due_at, escalate_at, fingerprint, state, "
    "alerted, created_at, closed_at, close_reason, closed_by, acked_at, acked_by, snoozed_until, snoozed_by"
)


@sla_migrations()
def m005_items_without_unique_key(db: Database) -> None:
    """`sla_items` rebuilt without its UNIQUE (message, mailbox, kind) key, and the few summary rows
    whose first response needs a second look (`sla_open.maybe_ack <> 0`) indexed on their own.

    The unique key repeated both strings of every item: with it, a first evaluation of 100,000 threads
    wrote 28 MB (WAL, then the checkpoint); without it and with the closed items' index below, 20 MB.
    One item per (message, mailbox, kind) is kept by the engine, the only writer of new items (inside
    BEGIN IMMEDIATE): before opening a clock it looks for an open item in the clock's thread
    (`sla_items_open`) and for a closed one by message (`sla_items_closed_message`, replacing
    `sla_items_closed` on closed_at, which no query used). So an open item's thread_id must follow its
    message when mail is re-threaded: evaluation moves it (both threads are dirty then), and this
    migration moves the open items left behind before. Statements one by one, not executescript
    (which would commit before the migration is recorded).
    """
    for statement in (
        """CREATE TABLE sla_items_new (
            id INTEGER PRIMARY KEY,
            message INTEGER NOT NULL,          -- messages.id of the waiting customer message
            thread_id INTEGER NOT NULL,        -- while open: the message's thread (moved with it)
            mailbox TEXT NOT NULL,             -- the shared mailbox (alias targets, not aliases)
            kind TEXT NOT NULL,                -- first_response | initial_solution
            policy TEXT NOT NULL,              -- name of the [sla.NAME] policy
            started INTEGER NOT NULL,          -- epoch seconds: when the clock started
            warn_at INTEGER NOT NULL,          -- epoch instants of the levels, on the policy's calendar
            due_at INTEGER NOT NULL,
            escalate_at INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,         -- the policy version the instants were computed with
            state TEXT NOT NULL DEFAULT 'ok',  -- as of the last evaluation: ok | warning | breached | escalated
            alerted INTEGER NOT NULL DEFAULT 0, -- highest level enqueued: 0 none, 1 warning, 2 breached, 3 escalated
            created_at INTEGER NOT NULL,
            closed_at INTEGER,                 -- NULL while open
            close_reason TEXT,                 -- replied | solved | resolved | superseded | dropped
            closed_by TEXT,                    -- message id (RFC) of the reply, or the person who resolved
            acked_at INTEGER,
            acked_by TEXT,
            snoozed_until INTEGER,
            snoozed_by TEXT
        )""",
        f"INSERT INTO sla_items_new ({_M005_ITEM_COLUMNS}) SELECT {_M005_ITEM_COLUMNS} FROM sla_items ORDER BY id",
        "DROP TABLE sla_items",
        "ALTER TABLE sla_items_new RENAME TO sla_items",
        """UPDATE sla_items SET thread_id = (SELECT m.thread_id FROM messages m WHERE m.id = sla_items.message)
           WHERE closed_at IS NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.id = sla_items.message
                                               AND m.thread_id IS NOT NULL AND m.thread_id <> sla_items.thread_id)""",
        "CREATE INDEX sla_items_open ON sla_items(thread_id) WHERE closed_at IS NULL",
        "CREATE INDEX sla_items_closed_message ON sla_items(message) WHERE closed_at IS NOT NULL",
        "CREATE INDEX sla_items_resolved ON sla_items(thread_id, mailbox, closed_at) "
        "WHERE close_reason = 'resolved' AND kind = 'first_response'",
        "CREATE INDEX sla_items_reopenable ON sla_items(message) WHERE close_reason IN ('superseded', 'dropped')",
        "CREATE INDEX sla_open_second_look ON sla_open(mailbox, thread_id) WHERE maybe_ack <> 0",
    ):
        db.execute(statement)
