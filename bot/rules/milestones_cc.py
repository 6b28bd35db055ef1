"""Which key milestones a mail we send carries, for the CC rule.

The recognition itself is the handover feature's detector (`bot.customers.milestones.detect`: English and
Chinese, the author's own text, attachment names, direction and mailbox roles). This adapter keeps
only the milestones we send that the guide ties to a shared mailbox, gives the detector the roles of
the mailboxes the message *and its thread* were seen in — so a complaint conclusion sent from a
personal mailbox in an after-sales thread is still recognised as one — and adds the config's extra
phrases (`[rules.cc.keywords]`, any one of them in the subject or own text is enough).
"""

from bot.customers.milestones import detect
from bot.rules.settings import MILESTONES
from bot.rules.text import KeywordTable, own_text


class MilestoneDetector:
    def __init__(self, extra: dict[str, list[str]] | None = None):
        words = {m: dict.fromkeys(extra.get(m, []), 1.0) for m in MILESTONES} if extra else {}
        self.extra = KeywordTable({m: w for m, w in words.items() if w}) if words else None

    def milestones_of(self, subject: str, body: str, files: list[str], *, roles: set[str]) -> list[str]:
        """The CC-relevant milestones of an outbound mail, in the guide's order."""
        found: set[str] = {hit.kind for hit in detect(subject, body, files, direction="outbound", roles=roles)}
        if self.extra is not None:
            found.update(self.extra.hits_all(f"{subject}\n{own_text(body)}"))
        return [m for m in MILESTONES if m in found]
