"""The choke point for mail facts (bot/mail/visibility.py): one rule, as a sieve and as SQL, for a person
or a whole team channel, and the neutral count of what it hid."""

import pytest

from bot.mail.visibility import Audience, hidden_note, message_mailboxes, thread_mailboxes
from bot.services import Services


def _audiences(services: Services) -> dict[str, Audience]:
    people = services.directory.people
    return {
        **{pid: Audience.person(people[pid]) for pid in ("li", "grace", "boss", "qiang", "zhou", "mei")},
        "team sales": Audience.team(services.directory, "sales"),
        "team support": Audience.team(services.directory, "support"),
        "nobody": Audience(()),
    }


@pytest.mark.parametrize("who", ["li", "grace", "boss", "qiang", "zhou", "mei", "team sales", "team support",
                                 "nobody"])
def test_the_sql_form_is_the_same_rule_as_the_sieve(demo_services: Services, who: str) -> None:
    audience = _audiences(demo_services)[who]
    ids = [r[0] for r in demo_services.db.execute("SELECT id FROM messages ORDER BY id")]
    where = message_mailboxes(demo_services.db, ids)
    sieved = demo_services.visibility.sieve(audience, ids, lambda m: where[m])
    scope, params = demo_services.visibility.message_filter(audience)
    by_sql = [r[0] for r in demo_services.db.execute(f"SELECT m.id FROM messages m WHERE {scope} ORDER BY m.id",
                                                        params)]
    assert by_sql == sieved.shown
    assert sieved.hidden == len(ids) - len(sieved.shown)
    if who in ("zhou",):
        assert sieved.hidden == 0
    if who in ("qiang", "nobody"):
        assert not sieved.shown  # QA reads no shared mailbox; an audience of nobody reads nothing


def test_a_team_channel_sees_only_what_every_member_may_read(demo_services: Services) -> None:
    vis = demo_services.visibility
    sales = Audience.team(demo_services.directory, "sales")
    assert sales.channel and {"amy", "li", "boss"} <= set(sales.ids)
    assert vis.may_read(sales, ["inquiry@hengda-valves.com"])
    assert not vis.may_read(sales, ["support@hengda-valves.com"])  # boss may, li may not: the channel may not
    assert vis.may_read(Audience.person(demo_services.directory.people["boss"]), ["support@hengda-valves.com"])
    assert not vis.may_read(sales, [""])  # mail seen in no configured mailbox: admins only


def test_threads_are_seen_where_their_messages_were(demo_services: Services) -> None:
    thread = demo_services.db.execute(
        "SELECT m.thread_id FROM messages m JOIN sightings s ON s.message = m.id "
        "WHERE s.mailbox = 'support@hengda-valves.com' LIMIT 1").fetchone()[0]
    assert "support@hengda-valves.com" in thread_mailboxes(demo_services.db, [thread])[thread]


def test_the_hidden_count_is_neutral_and_honest() -> None:
    assert hidden_note(2, "open thread", more=True) == \
        "2 more open threads in mailboxes you can't read — ask a lead"
    assert hidden_note(1, "pending alert") == "1 pending alert in mailboxes you can't read — ask a lead"
    assert hidden_note(3, "finding", channel=True) == "3 findings in mailboxes not everyone in this channel may read"


def test_owner_counts_what_the_reader_may_not_read_and_never_names_it(demo_services: Services) -> None:
    from bot.chat.router import Router

    router = Router(demo_services)
    qiang, grace = demo_services.directory.people["qiang"], demo_services.directory.people["grace"]
    hidden = router.handle("/owner acme trading", qiang)
    assert hidden.ok and "Leaking" not in hidden.text and "Leaking" not in str(hidden.data)
    details = hidden.data["details"]
    assert details["open_threads"] == [] and details["open_hidden"] == details["open_count"] > 0
    assert details["last_inbound"] is None  # not even the date of mail QA may not read
    assert f"{details['open_hidden']} open thread" in hidden.text and "ask a lead" in hidden.text
    shown = router.handle("/owner acme trading", grace)
    assert "Leaking Ball Valve on PO 4777" in shown.text and shown.data["details"]["open_hidden"] == 0


def test_a_handover_preview_counts_threads_the_lead_may_not_read(demo_services: Services) -> None:
    from bot.chat.router import Router

    amy = demo_services.directory.people["amy"]  # a sales lead: no order@
    preview = Router(demo_services).handle("/handover chen lucy all", amy)
    assert preview.ok
    assert "PO 4599" not in preview.text and "PO 4599" not in str(preview.data)
    assert "in mailboxes you can't read — ask a lead" in preview.text
    assert sum(d["open_threads_hidden"] for d in preview.data["details"]) > 0
