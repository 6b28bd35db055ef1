"""Parsing for the archive: the parse itself plus the text work the search index needs.

Both run wherever parsing runs — in the parse helper process for large imports and syncs — so the
archive's single writer only stores.
"""

from bot.mail.parse import ParsedMail, parse_mail
from bot.search.indexer import BODY_LIMIT
from bot.search.text import prepare_text


def parse_for_archive(raw: bytes) -> ParsedMail:
    mail = parse_mail(raw)
    mail.index_text = prepare_text(mail.subject, mail.body, BODY_LIMIT)
    return mail
