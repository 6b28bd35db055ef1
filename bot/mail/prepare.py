"""Parsing for the archive: the parse itself plus the text work the indexes need.

All of it runs wherever parsing runs — in the parse helper process for large imports and syncs — so the
archive's single writer mostly stores. A MailPreparer is pickled to the helper once, with the steps the
archive's indexes asked for (`Archive.preparer`: search text, category scores).
"""

from collections.abc import Callable

from bot.mail.parse import ParsedMail, parse_mail
from bot.mail.sources import Raw

Extra = Callable[[ParsedMail], None]
"""A picklable step that stores its result in `ParsedMail.prepared`."""


class MailPreparer:
    def __init__(self, extras: tuple[Extra, ...] = ()):
        self.extras = extras

    def __call__(self, raw: Raw) -> ParsedMail:
        mail = parse_mail(raw if isinstance(raw, bytes) else raw.read())
        for extra in self.extras:
            extra(mail)
        return mail
