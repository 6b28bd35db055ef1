"""(c) of the CC rule end to end: a merchandiser's personal Sent folder on a real Dovecot, synced opt-in
(`[people.imap]`), and the milestone mail she sent without order@ in CC found by the rules."""

import json
from pathlib import Path

import pytest

from bot.mail.imap_connect import sync_targets
from bot.mail.imap_sync import sync_once
from tests.fakes.dovecot import HOST, SENT_FOLDER, DovecotServer
from tests.fakes.rules_helpers import MEI, ORDER, ZHANG, Lab, eml, msgid_of


def test_personal_sent_folder_feeds_the_cc_rule(dovecot: DovecotServer, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    user = dovecot.add_user()
    confirmation = eml("Order confirmation PO 4522", "Dear Zhang, we confirm your PO 4522, delivery in 35 days.",
                       frm=MEI, to=[ZHANG[1]], attachments=["PI-2026-522.pdf"])
    user.append(confirmation, folder=SENT_FOLDER)
    user.append(eml("Private", "Lunch?", frm=ZHANG, to=[MEI[1]]))  # her INBOX is never read
    monkeypatch.setenv("MAILROOM_TEST_MEI_PW", user.password)
    imap = (f"[people.imap]\nhost = {json.dumps(HOST)}\nport = {dovecot.port}\nssl = false\nstarttls = false\n"
            f"username = {json.dumps(user.name)}\npassword_env = \"MAILROOM_TEST_MEI_PW\"\n\n")

    def opt_in(text: str) -> str:
        marker = '[[people]]\nid = "tom"'
        assert marker in text
        return text.replace(marker, imap + marker)

    lab = Lab(tmp_path, edit=opt_in)
    try:
        results = sync_once(lab.services.archive, lab.clock, sync_targets(lab.services.config, "mei"))
        assert [(r.address, r.ok) for r in results] == [(MEI[1], True)]

        found = lab.violations("missing_cc")

        assert [(v["message_id"], v["person"], v["expected"]) for v in found] == [(msgid_of(confirmation), "mei", ORDER)]
        assert found[0]["evidence"]["seen_in"] == [MEI[1]]
        assert lab.db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    finally:
        lab.close()
