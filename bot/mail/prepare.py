"""Parsing for the archive: the parse itself plus the text work the indexers need.

All of it runs wherever parsing runs — in the parse helper process for large imports and syncs — so the
archive's single writer mostly stores. A MailPreparer is pickled to the helper once, with the extra
steps the archive's indexers asked for (`Archive.preparer`).
"""

from collections.abc import Callable

from bot.mail.parse import ParsedMail, parse_mail
from bot.mail.sources import Raw
from bot.search.indexer import BODY_LIMIT
from bot.search.text import prepare_text

Extra = Callable[[ParsedMail], None]
"""A picklable step that stores its result in `ParsedMail.prepared`."""


class MailPreparer:
    def __init__(self, extras: tuple[Extra, ...] = ()):
        self.extras = extras

    def __call__(self, raw: Raw) -> ParsedMail:
        mail = parse_mail(raw if isinstance(raw, bytes) else raw.read())
        mail.index_text = prepare_text(mail.subject, mail.body, BODY_LIMIT)
        for extra in self.extras:
            extra(mail)
        return mail


parse_for_archive = MailPreparer()
"""Parse and prepare the search text (no other indexer's steps)."""
