"""Threads that wait on us: the one definition /owner, /handover and briefs share.

A thread waits when its last human message (auto-replies, bounces and lists aside) is the customer's
and is more than a bare "thanks, we will check" — the SLA engine's own acknowledgement test.
"""

import json
from dataclasses import dataclass

from sqlite_utils import Database

from bot.sla.text_rules import is_acknowledgement

_LAST_OF_THREADS = """
WITH mine AS (SELECT DISTINCT thread_id FROM messages WHERE customer_id = ? AND thread_id IS NOT NULL),
ranked AS (
    SELECT m.id, m.thread_id, m.direction, m.date, m.body, m.from_name,
           ROW_NUMBER() OVER (PARTITION BY m.thread_id ORDER BY m.date DESC, m.id DESC) AS n
    FROM messages m JOIN mine ON mine.thread_id = m.thread_id
    WHERE m.auto_submitted = 0 AND m.is_bounce = 0 AND m.is_list = 0 AND m.direction IN ('inbound', 'outbound')
)
SELECT r.thread_id, t.subject, r.date, r.body, r.from_name,
       (SELECT json_group_array(DISTINCT s.mailbox) FROM sightings s JOIN messages m2 ON m2.id = s.message
        WHERE m2.thread_id = r.thread_id AND s.mailbox != '')
FROM ranked r JOIN threads t ON t.id = r.thread_id
WHERE r.n = 1 AND r.direction = 'inbound'
ORDER BY r.date DESC
"""


@dataclass(frozen=True)
class WaitingThread:
    id: int
    subject: str
    last_inbound: str
    mailboxes: list[str]


def waiting_threads(db: Database, customer_id: int) -> list[WaitingThread]:
    """The customer's threads that wait on us, newest first."""
    return [
        WaitingThread(thread_id, subject, date, sorted(json.loads(boxes or "[]")))
        for thread_id, subject, date, body, from_name, boxes in db.execute(_LAST_OF_THREADS, [customer_id])
        if not is_acknowledgement(body, from_name)
    ]
