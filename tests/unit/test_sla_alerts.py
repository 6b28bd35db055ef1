"""Alerts: routing per level, exactly once across restarts, ack / snooze / away, outages and crashes."""

from datetime import timedelta
from pathlib import Path

import pytest

from bot.chat.commands import Request
from bot.core.config import Config, MailboxRights
from bot.outbox import SENDING_LEASE
from bot.scheduler import run_scheduler_once
from tests.fakes.asking import ask
from tests.fakes.outbox_rows import alert_rows, deliveries
from tests.fakes.sla_helpers import HANS, MONDAY, SUPPORT, Crash, Factory, RecordingChannel, eml, inquiry


@pytest.fixture
def factory(tmp_path: Path) -> Factory:
    f = Factory(tmp_path, MONDAY)
    f.add(inquiry(1, MONDAY))  # Nordic Flow AB → inquiry@ (sales); owner lucy in the CRM export; manager boss
    yield f
    f.close()


def tick(factory: Factory, channel: RecordingChannel, hours: float) -> list[tuple[str, str, str | None]]:
    """Run the scheduler at MONDAY + hours; the SLA alerts the channel received: (level, kind, who)."""
    factory.at(MONDAY + timedelta(hours=hours))
    before = len(channel.sent)
    run_scheduler_once(factory.services, [channel])
    return [(r.data["alert"]["level"], d.kind, d.person_id or d.team_id)
            for d, r, _ in channel.sent[before:] if r.command == "sla.alert"]




def test_levels_go_to_owner_then_team_channel_then_manager(factory: Factory) -> None:
    channel = RecordingChannel()
    assert tick(factory, channel, 17) == []
    assert tick(factory, channel, 18) == [("warning", "person", "lucy")]
    assert tick(factory, channel, 23) == []
    assert tick(factory, channel, 24) == [("breached", "team", "sales")]
    assert tick(factory, channel, 48) == [("escalated", "person", "boss")]
    assert tick(factory, channel, 90) == []
    _, reply, key = channel.sent[0]
    assert key == "sla:1:warning"
    assert [b.command for b in reply.buttons] == ["/sla ack 1", "/sla snooze 1 4h"]
    assert [b.label for b in reply.buttons] == ["Ack", "Snooze 4h"]
    assert "Nordic Flow AB" in reply.text and "Please quote" not in reply.text  # never the mail body


def test_levels_reached_at_once_each_alert_once(factory: Factory) -> None:
    channel = RecordingChannel()
    assert tick(factory, channel, 50) == [("warning", "person", "lucy"), ("breached", "team", "sales"),
                                          ("escalated", "person", "boss")]


def test_exactly_once_across_a_restart(factory: Factory) -> None:
    channel = RecordingChannel()
    assert len(tick(factory, channel, 50)) == 3
    factory.reopen()
    assert tick(factory, channel, 50) == []
    assert tick(factory, channel, 51) == []
    factory.reopen()
    assert tick(factory, channel, 80) == []
    keys = [r["key"] for r in alert_rows(factory.services.db) if r["kind"] == "sla"]
    assert keys == ["sla:1:warning", "sla:1:breached", "sla:1:escalated"]
    assert sorted(channel.keys()).count("sla:1:warning") == 1


def test_a_crash_between_send_and_bookkeeping_resends_at_most_once(factory: Factory) -> None:
    channel = RecordingChannel(crash_after_send=True)
    factory.at(MONDAY + timedelta(hours=18))
    with pytest.raises(Crash):
        run_scheduler_once(factory.services, [channel])
    assert channel.keys() == ["sla:1:warning"]
    factory.reopen()  # the process restarts
    channel.crash_after_send = False
    assert tick(factory, channel, 18) == []  # inside the lease: maybe still being sent elsewhere
    later = 18 + SENDING_LEASE.total_seconds() / 3600
    assert tick(factory, channel, later) == [("warning", "person", "lucy")]
    assert tick(factory, channel, later + 1) == []
    assert channel.keys() == ["sla:1:warning", "sla:1:warning"]  # the same idempotency key both times
    [alert] = [a for a in alert_rows(factory.services.db) if a["kind"] == "sla"]
    assert deliveries(factory.services.db, alert["id"])["slack"]["status"] == "sent"


def test_an_adapter_outage_loses_nothing(factory: Factory) -> None:
    channel = RecordingChannel(failures=3)
    assert tick(factory, channel, 18) == []  # down
    [alert] = [a for a in alert_rows(factory.services.db) if a["kind"] == "sla"]
    state = deliveries(factory.services.db, alert["id"])
    assert state["console"]["status"] == "sent"  # the log channel is not held up by Slack
    assert state["slack"]["status"] == "pending" and "down" in state["slack"]["error"]
    assert tick(factory, channel, 18 + 10 / 3600) == []  # backoff: no retry 10 s later
    assert channel.failures == 2
    hours = 18 + 30 / 3600
    assert tick(factory, channel, hours) == []  # retry after 30 s: still down
    hours += 60 / 3600
    assert tick(factory, channel, hours) == []  # then after 1 min: still down
    assert channel.failures == 0
    assert tick(factory, channel, hours + 60 / 3600) == []  # 2 min not yet over
    assert tick(factory, channel, hours + 120 / 3600) == [("warning", "person", "lucy")]
    assert deliveries(factory.services.db, alert["id"])["slack"] == {
        "status": "sent", "attempts": 4, "error": None, "sent_at": "2026-11-23T19:03:30Z"}
    assert tick(factory, channel, 30) == [("breached", "team", "sales")]


def test_retry_after_is_honoured(factory: Factory) -> None:
    channel = RecordingChannel(failures=1, retry_after=600)
    tick(factory, channel, 18)
    assert tick(factory, channel, 18 + 599 / 3600) == []
    assert tick(factory, channel, 18 + 600 / 3600) == [("warning", "person", "lucy")]


def test_a_channel_that_cannot_reach_someone_skips_without_retrying(factory: Factory) -> None:
    refusing, working = RecordingChannel(platform="wecom", refuse=True), RecordingChannel(platform="slack")
    factory.at(MONDAY + timedelta(hours=18))
    report = run_scheduler_once(factory.services, [refusing, working])
    assert report.delivery.skipped == 1 and len(working.sent) == 1
    run_scheduler_once(factory.services, [refusing, working])
    assert len(working.sent) == 1


def test_ack_stops_further_escalation(factory: Factory) -> None:
    channel = RecordingChannel()
    assert tick(factory, channel, 19) == [("warning", "person", "lucy")]
    reply = ask(factory.services, "/sla ack 1", who="lucy")
    assert reply.ok and "acknowledged" in reply.text
    assert tick(factory, channel, 30) == [] and tick(factory, channel, 60) == []
    entry = factory.services.audit.recent(1)[0]
    assert (entry["actor"], entry["command"], entry["args"]["item"]) == ("lucy", "sla ack", 1)
    assert factory.services.audit.verify() is None
    [item] = factory.items()
    assert item.state == "escalated" and item.acked_by == "lucy"  # still listed, no longer alerted


def test_snooze_delays_alerts(factory: Factory) -> None:
    channel = RecordingChannel()
    tick(factory, channel, 23)
    assert ask(factory.services, "/sla snooze 1 4h", who="boss").ok  # until +27 h
    assert tick(factory, channel, 25) == []  # breached at +24 h, but snoozed
    assert tick(factory, channel, 27) == [("breached", "team", "sales")]
    assert factory.services.audit.recent(1)[0]["command"] == "sla snooze"


def test_away_sends_alerts_to_the_backup(factory: Factory) -> None:
    channel = RecordingChannel()
    reply = ask(factory.services, "/away lucy until 2026-11-24 backup li", who="lucy")
    assert reply.ok and reply.data["backup"] == "li"
    assert tick(factory, channel, 18) == [("warning", "person", "li")]
    [alert] = [a for a in alert_rows(factory.services.db) if a["level"] == "warning"]
    assert alert["route"] == "owner lucy away → backup li"
    assert factory.services.audit.recent(1)[0]["command"] == "away"


def test_away_uses_the_configured_backup_and_ends(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY)
    # Acme Trading: owner amy in the CRM export; amy's backup in the config is li.
    factory.add(eml(frm=HANS, to="inquiry@hengda-valves.com", subject="RFQ DN80", date=MONDAY, msgid="a1@acme-trading.de"))
    assert ask(factory.services, "/away amy until 2026-11-24", who="amy").ok  # through Tuesday in Ningbo = MONDAY + 39 h
    assert ask(factory.services, "/away amy until 2026-12-24", who="li").error.code == "forbidden"  # a member may not
    channel = RecordingChannel()
    assert tick(factory, channel, 18) == [("warning", "person", "li")]
    factory.add(eml(frm=HANS, to="inquiry@hengda-valves.com", subject="RFQ DN100", date=MONDAY + timedelta(hours=30),
                    msgid="a2@acme-trading.de"))
    sent = tick(factory, channel, 48)  # amy is back: the second inquiry's warning goes to her
    assert ("warning", "person", "amy") in sent and all(who != "li" for _, _, who in sent)
    assert ask(factory.services, "/away", who="amy").data["away"] == []
    factory.close()


def test_alerts_only_go_where_the_mailbox_may_be_read(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY)
    # Acme (owner amy, sales) writes to support@: amy may not read support@, so not to her.
    factory.add(eml(frm=HANS, to=SUPPORT, subject="Leak", date=MONDAY, msgid="c1@acme-trading.de"))
    channel = RecordingChannel()
    sent = tick(factory, channel, 24 * 10)
    assert ("warning", "team", "support") in sent and all(who != "amy" for _, _, who in sent)
    assert ("escalated", "person", "kevin") in sent
    warning = next(a for a in alert_rows(factory.services.db) if a["level"] == "warning")
    assert "owner amy may not read support@" in warning["route"]
    factory.close()


def test_restricted_mailbox_keeps_alerts_out_of_the_team_channel(tmp_path: Path) -> None:
    def restrict(config: Config) -> None:
        config.permissions["inquiry@hengda-valves.com"] = MailboxRights(read=["amy", "boss"])

    factory = Factory(tmp_path, MONDAY, edit=restrict)
    factory.add(inquiry(1, MONDAY))
    channel = RecordingChannel()
    sent = tick(factory, channel, 50)
    assert sent == [("warning", "person", "boss"), ("breached", "person", "boss"), ("escalated", "person", "boss")]
    factory.close()


def test_nobody_allowed_means_no_alert_and_a_logged_reason(tmp_path: Path) -> None:
    def lock(config: Config) -> None:
        config.permissions["inquiry@hengda-valves.com"] = MailboxRights(read=["amy"])
        config.people = [p for p in config.people if p.id != "zhou"]  # no admin either
        config.teams[0].manager = None

    factory = Factory(tmp_path, MONDAY, edit=lock)
    factory.add(inquiry(1, MONDAY))
    channel = RecordingChannel()
    assert tick(factory, channel, 24) == []
    rows = [a for a in alert_rows(factory.services.db) if a["kind"] == "sla"]
    assert {r["status"] for r in rows} == {"undeliverable"}
    assert "nobody may receive it" in rows[0]["route"]
    factory.close()


def test_old_levels_after_an_import_are_recorded_not_pushed(tmp_path: Path) -> None:
    factory = Factory(tmp_path, MONDAY + timedelta(days=30))
    factory.add(inquiry(1, MONDAY))  # a month-old unanswered inquiry, imported today
    channel = RecordingChannel()
    factory.evaluate()
    run_scheduler_once(factory.services, [channel])
    assert [r.command for _, r, _ in channel.sent if r.command == "sla.alert"] == []
    assert {a["status"] for a in alert_rows(factory.services.db) if a["kind"] == "sla"} == {"stale"}
    assert [i.state for i in factory.items()] == ["escalated"]  # still on the board
    factory.close()


def test_digest_once_a_day_per_team(factory: Factory) -> None:
    channel = RecordingChannel()
    factory.at(MONDAY + timedelta(hours=1))  # Monday 10:00 in Ningbo
    run_scheduler_once(factory.services, [channel])
    run_scheduler_once(factory.services, [channel])
    digests = [(d.team_id or d.person_id) for d, r, _ in channel.sent if r.command == "sla.digest"]
    assert digests == ["sales", "merch", "support"]
    sales = next(r for d, r, _ in channel.sent if r.command == "sla.digest" and d.team_id == "sales")
    assert sales.data["digest"][0]["open"] == 1


def test_request_time_comes_from_the_clock(factory: Factory) -> None:
    person = factory.services.directory.find_person("lucy")
    request = Request(person=person, args=[], text="", services=factory.services)
    assert request.now == MONDAY


def test_an_alert_held_up_by_an_outage_is_dropped_once_the_customer_is_answered(factory: Factory) -> None:
    from tests.fakes.sla_helpers import AMY, ERIK

    channel = RecordingChannel(failures=10)
    assert tick(factory, channel, 18) == []  # Slack is down; the log channel has it
    factory.add(eml(frm=AMY, to=ERIK, cc="inquiry@hengda-valves.com", subject="Re: RFQ", date=MONDAY + timedelta(hours=19),
                    msgid="r1@hengda-valves.com", reply_to="rfq1@nordicflow.se", body="Quotation attached."))
    channel.failures = 0
    assert tick(factory, channel, 20) == []  # answered meanwhile: no late warning
    [alert] = [a for a in alert_rows(factory.services.db) if a["kind"] == "sla"]
    assert alert["status"] == "obsolete"
