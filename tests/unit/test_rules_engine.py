"""The engine's wiring: the archive indexer, the watermark, and one scheduler round that delivers nudges."""

from datetime import timedelta
from pathlib import Path

from bot.outbox import ConsoleChannel
from bot.scheduler import scheduler_tick
from tests.fakes.rules_helpers import COMPLAINT, HANS, NOW, SAM, SUPPORT, Lab, eml, msgid_of


def test_scheduler_round_runs_the_rules_and_delivers_their_nudges(tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    try:
        complaint = eml("Leaking valves", "Leaking.", to=[COMPLAINT], delivered_to=COMPLAINT,
                        when=NOW - timedelta(hours=5))
        lab.add(complaint, eml("Re: Leaking valves", "Conclusion: replacement (补发).", frm=SAM, to=[HANS[1]],
                               cc=[SUPPORT], in_reply_to=msgid_of(complaint), when=NOW - timedelta(hours=1)))
        console = ConsoleChannel()

        scheduler_tick(lab.services, [console])

        sent = {key: destination for destination, _, key in console.sent if key.startswith("rules:")}
        assert [(d.kind, d.person_id) for k, d in sent.items() if k.startswith("rules:cc:")] == [("person", "sam")]
        assert [(d.kind, d.team_id) for k, d in sent.items() if k.startswith("rules:digest:")] == [("team", "support")]
        assert lab.services.rules.watermark() == lab.db.execute("SELECT max(id) FROM messages").fetchone()[0]
        scheduler_tick(lab.services, [console])
        assert len([k for _, _, k in console.sent if k.startswith("rules:cc:")]) == 1  # delivered once
    finally:
        lab.close()


def test_categories_disabled_leaves_mail_unsorted(tmp_path: Path) -> None:
    lab = Lab(tmp_path, rules_toml="[rules.categories]\nenabled = false\n")
    try:
        raw = eml("Purchase order 7001", "our purchase order", to=["order@hengda-valves.com"])
        lab.add(raw)
        assert lab.category(msgid_of(raw)) == (None, None)
        assert lab.db.execute("SELECT count(*) FROM category_queue").fetchone()[0] == 0
    finally:
        lab.close()
