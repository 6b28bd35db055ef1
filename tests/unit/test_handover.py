"""/handover on the demo factory: rights, preview and confirm, undo, races, alerts, the brief, audit."""

import json
import sqlite3
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest

from bot.core.clock import Clock
from bot.core.config import load_config
from bot.core.reply import Reply
from bot.customers.inference import effective_owner, inferred_owner
from bot.customers.ownership import history, owner_of
from bot.mail.importer import import_messages
from bot.outbox import ConsoleChannel, deliver_pending
from bot.services import Services
from tests.conftest import DEMO_NOW
from tests.fakes.asking import ask
from tests.fakes.cli import mailroom
from tests.fakes.outbox_rows import alert_rows, reply_of

CHEN_CRM = {"深圳华通贸易有限公司", "Pacific Rim Imports LLC", "Ahmed Trading Est."}
DONGFANG = "杭州东方机电"  # no owner in the CRM; chen answers its mail, so it is chen's by inference
HUATONG, PACRIM, AHMED = "深圳华通贸易有限公司", "Pacific Rim Imports LLC", "Ahmed Trading Est."




def cid(services: Services, name: str) -> int:
    return services.db.execute("SELECT id FROM customers WHERE name = ?", [name]).fetchone()[0]


def owner(services: Services, name: str) -> tuple[str | None, str]:
    return effective_owner(services.db, services.directory, cid(services, name), now=services.clock.now())


def audit_rows(services: Services) -> list[dict]:
    return list(reversed(services.audit.recent(500)))




# ── rights ─────────────────────────────────────────────────────────────────────────────────────


def test_a_member_is_refused_and_the_refusal_is_audited(demo_services: Services) -> None:
    reply = ask(demo_services, "/handover chen lucy all", who="li")
    assert reply.error is not None and reply.error.code == "forbidden"
    assert owner(demo_services, HUATONG) == ("chen", "crm")
    last = audit_rows(demo_services)[-1]
    assert (last["actor"], last["command"]) == ("li", "handover")
    assert last["result"].startswith("refused") and last["args"]["to"] == "lucy"
    assert demo_services.db.execute("SELECT count(*) FROM handovers").fetchone()[0] == 0


def test_a_lead_hands_over_within_their_team_only(demo_services: Services) -> None:
    within = ask(demo_services, "/handover chen lucy all", who="amy")  # amy leads sales; chen and lucy are sales
    assert within.ok, within.text
    outside = ask(demo_services, "/handover chen tom all", who="amy")  # tom is in merch
    assert outside.error is not None and outside.error.code == "forbidden"
    assert "own team" in outside.text
    other_lead = ask(demo_services, "/handover chen lucy all", who="mei")  # mei leads merch, not sales
    assert other_lead.error is not None and other_lead.error.code == "forbidden"
    refusals = [e for e in audit_rows(demo_services) if e["result"].startswith("refused")]
    assert [(e["actor"], e["args"]["to"]) for e in refusals] == [("amy", "tom"), ("mei", "lucy")]


def test_any_manager_and_an_admin_may_hand_over(demo_services: Services) -> None:
    assert ask(demo_services, "/handover chen lucy all", who="helen").ok  # manager of another team
    assert ask(demo_services, "/handover li amy Müller", who="zhou").ok  # admin


def test_the_from_persons_team_manager_may_even_without_the_manager_role(demo_dir: Path, clock: Clock) -> None:
    config = load_config(demo_dir / "mailroom.toml")
    next(t for t in config.teams if t.id == "sales").manager = "li"  # li is a plain member
    services = Services(config, clock)
    try:
        assert ask(services, "/handover chen lucy all", who="li").ok
    finally:
        services.db.conn.close()


def test_an_unknown_receiver_is_refused_with_close_names(demo_services: Services) -> None:
    reply = ask(demo_services, "/handover chen lucx all")
    assert reply.error is not None and reply.error.code == "unknown_person"
    assert "Lucy Wang (lucy)" in reply.text
    assert reply.data["suggestions"][0]["id"] == "lucy"
    assert demo_services.db.execute("SELECT count(*) FROM handovers").fetchone()[0] == 0


# ── preview, confirm, --yes ────────────────────────────────────────────────────────────────────


def test_preview_then_confirm(demo_services: Services) -> None:
    preview = ask(demo_services, '/handover @chen <@U0LUCY> all --reason "Chen moves to QA"')
    assert preview.ok, preview.text
    hid = preview.data["handover_id"]
    assert preview.data["state"] == "pending" and set(preview.data["customers"]) == CHEN_CRM | {DONGFANG}
    assert [b.command for b in preview.buttons] == [f"/handover confirm {hid}", f"/handover cancel {hid}"]
    assert preview.buttons[0].label == "Confirm"
    huatong = next(d for d in preview.data["details"] if d["customer"]["name"] == HUATONG)
    assert any(t["sla"] == "escalated" for t in huatong["open_threads"])  # the SLA engine's state
    assert owner(demo_services, HUATONG) == ("chen", "crm")  # nothing moved yet

    done = ask(demo_services, f"/handover confirm {hid}")
    assert done.ok, done.text
    assert done.data["state"] == "done" and set(done.data["customers"]) == CHEN_CRM | {DONGFANG}
    for name in CHEN_CRM | {DONGFANG}:
        assert owner(demo_services, name) == ("lucy", "handover")
    last = history(demo_services.db, cid(demo_services, PACRIM))[-1]
    assert last == {"from": "chen", "to": "lucy", "source": "handover", "at": "2026-11-25T02:00:00Z", "by": "boss",
                    "reason": "Chen moves to QA", "ref": f"handover:{hid}"}
    commands = [(e["command"], e["result"].split(":")[0]) for e in audit_rows(demo_services)]
    assert commands == [("handover", f"preview #{hid}"), ("handover confirm", "done")]
    again = ask(demo_services, f"/handover confirm {hid}")
    assert again.error is not None and again.error.code == "done"


def test_yes_confirms_at_once_and_the_brief_goes_through_the_outbox(demo_services: Services) -> None:
    reply = ask(demo_services, "/handover chen lucy all --yes")
    assert reply.ok and reply.data["state"] == "done"
    assert reply.data["brief"]["delivery"] == "outbox" and reply.data["brief"]["sent_to"] == ["lucy", "boss"]
    boss_view = next(c for c in reply.data["brief"]["customers"] if c["customer"]["name"] == HUATONG)
    boss_complaint = next(m for m in boss_view["milestones"] if m["kind"] == "complaint")
    assert "hidden" not in boss_complaint  # the confirmation is boss's: a manager reads support@
    # each recipient gets the brief as they may see it: lucy's is the one queued for her
    lucy_key = next(k for k in reply.data["brief"]["keys"] if k.endswith(":lucy"))
    row = demo_services.db.execute("SELECT id FROM sla_alerts WHERE key = ?", [lucy_key]).fetchone()
    brief = reply_of(demo_services.db, row[0]).data
    huatong = next(c for c in brief["customers"] if c["customer"]["name"] == HUATONG)
    assert huatong["contacts"][0]["address"] == "zhangwei@huatong-trade.cn"
    assert huatong["last_inbound"] and huatong["last_outbound"]
    assert [t["sla"] for t in huatong["open_threads"]] == ["escalated"]
    kinds = {m["kind"] for m in huatong["milestones"]}
    assert {"quotation", "payment_terms", "po", "po_confirmation", "shipping_documents", "complaint"} <= kinds
    complaint = next(m for m in huatong["milestones"] if m["kind"] == "complaint")
    assert complaint["conclusion"] is not None  # the conclusion written later in the same thread
    assert complaint["hidden"] is True  # support@ mail: lucy (sales) may not read it, the brief must not leak it
    quotation = next(m for m in huatong["milestones"] if m["kind"] == "quotation")
    assert "报价单" in quotation["excerpt"]  # inquiry@ mail, readable by sales
    checklist = {item["key"]: item["text"] for item in brief["checklist"]}
    assert set(checklist) == {"mailbox_rights", "customer_tags", "revoke_access"}
    assert "sales-team@hengda-valves.com" in checklist["revoke_access"]
    assert "chen.sales@hengda-valves.com" in checklist["revoke_access"]

    channel = ConsoleChannel()
    deliver_pending(demo_services.db, [channel], demo_services.clock.now())
    briefs = [(d.person_id, r.command) for d, r, key in channel.sent if key.startswith("handover:")]
    assert briefs == [("lucy", "handover.brief"), ("boss", "handover.brief")]


def test_a_long_brief_goes_out_in_parts(demo_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.handover.brief.CUSTOMERS_PER_MESSAGE", 3)
    reply = ask(demo_services, "/handover chen lucy all --yes")
    hid = reply.data["handover_id"]
    assert reply.data["brief"]["keys"] == [f"handover:{hid}:brief1:lucy", f"handover:{hid}:brief2:lucy",
                                           f"handover:{hid}:brief1:boss", f"handover:{hid}:brief2:boss"]
    assert len(reply.data["brief"]["customers"]) == 4  # the whole brief stays in data
    channel = ConsoleChannel()
    deliver_pending(demo_services.db, [channel], demo_services.clock.now())
    parts = [r for d, r, key in channel.sent if key.startswith("handover:") and d.person_id == "lucy"]
    assert [(p.data["part"], len(p.data["customers"])) for p in parts] == [(1, 3), (2, 1)]
    assert "Admin checklist" in parts[1].text and "Admin checklist" not in parts[0].text


def test_cancel_changes_nothing(demo_services: Services) -> None:
    hid = ask(demo_services, "/handover chen lucy all").data["handover_id"]
    assert ask(demo_services, f"/handover cancel {hid}").data["state"] == "cancelled"
    assert ask(demo_services, f"/handover confirm {hid}").error.code == "cancelled"
    assert owner(demo_services, PACRIM) == ("chen", "crm")


# ── which customers ────────────────────────────────────────────────────────────────────────────


def test_a_partial_handover_by_fuzzy_customer_names(demo_services: Services) -> None:
    reply = ask(demo_services, "/handover chen lucy pacfic rim huatong --yes")
    assert reply.ok, reply.text
    assert set(reply.data["customers"]) == {PACRIM, HUATONG}
    assert owner(demo_services, AHMED) == ("chen", "crm")  # not named: stays
    quoted = ask(demo_services, '/handover chen li "Ahmed Trading" --yes')
    assert quoted.data["customers"] == [AHMED]
    commas = ask(demo_services, "/handover lucy amy nordic flow, istanbul vana")
    assert set(commas.data["customers"]) == {"Nordic Flow AB", "Istanbul Vana A.Ş."}


def test_names_in_a_row_split_into_the_best_matching_customers(demo_services: Services) -> None:
    reply = ask(demo_services, "/handover Chen Hao Lucy Wang huatong pacrim ahmed trading")
    assert reply.data["from"]["id"] == "chen" and reply.data["to"]["id"] == "lucy"
    assert set(reply.data["customers"]) == CHEN_CRM  # not "pacrim ahmed trading" → Acme Trading
    ambiguous = ask(demo_services, "/handover chen lucy huatong trading co")
    assert ambiguous.ok  # "Huatong Trading" is Huatong's alias


def test_a_leaver_no_longer_in_the_people_list_can_still_hand_over(demo_dir: Path, clock: Clock) -> None:
    config = load_config(demo_dir / "mailroom.toml")
    config.people = [p for p in config.people if p.id != "chen"]
    services = Services(config, clock)
    try:
        assert ask(services, "/handover chen lucy all", who="amy").error.code == "forbidden"  # no team known
        reply = ask(services, "/handover chen lucy all --yes")
        assert reply.ok and set(reply.data["customers"]) == CHEN_CRM
        assert reply.data["from"] == {"id": "chen", "name": "chen", "email": ""}
    finally:
        services.db.conn.close()


def test_a_name_that_matches_nothing_or_someone_elses_customer_plans_nothing(demo_services: Services) -> None:
    none = ask(demo_services, "/handover chen lucy zzqx")
    assert none.error is not None and none.error.code == "no_match"
    several = ask(demo_services, "/handover chen lucy pacrim trading")
    assert several.error is not None and several.error.code == "ambiguous"
    assert several.data["query"] == "trading"
    assert f'/handover chen lucy "{AHMED}" "{PACRIM}"' in [b.command for b in several.buttons]
    not_his = ask(demo_services, "/handover chen lucy acme")
    assert not_his.error is not None and not_his.error.code == "not_owner" and "Amy Zhang" in not_his.text
    assert demo_services.db.execute("SELECT count(*) FROM handovers").fetchone()[0] == 0


def test_all_includes_inferred_customers_and_inference_never_gives_them_back(demo_services: Services) -> None:
    assert owner(demo_services, DONGFANG) == ("chen", "inferred")
    reply = ask(demo_services, "/handover chen lucy all --yes")
    assert DONGFANG in reply.data["customers"]
    assert owner(demo_services, DONGFANG) == ("lucy", "handover")
    # chen keeps answering 杭州东方机电 afterwards: inference would pick chen, explicit ownership wins
    now = demo_services.clock.now()
    mails = []
    for hours in (1, 2, 3):
        msg = EmailMessage()
        msg["From"] = "Chen Hao <chen.sales@hengda-valves.com>"
        msg["To"] = "wangfang@dongfang-me.cn"
        msg["Cc"] = "inquiry@hengda-valves.com"
        msg["Subject"] = f"报价 {hours}"
        msg["Date"] = format_datetime(now + timedelta(hours=hours))
        msg["Message-ID"] = make_msgid(domain="hengda-valves.com")
        msg.set_content("附件是报价单。")
        mails.append((msg["Message-ID"].strip("<>"), bytes(msg)))
    import_messages(demo_services.archive, mails)
    demo_services.clock.advance(hours=4)
    customer = cid(demo_services, DONGFANG)
    assert inferred_owner(demo_services.db, customer, now=demo_services.clock.now()).person_id == "chen"
    assert owner(demo_services, DONGFANG) == ("lucy", "handover")


# ── alerts ─────────────────────────────────────────────────────────────────────────────────────


def test_pending_alerts_are_rerouted_to_the_new_owner(demo_services: Services) -> None:
    now = demo_services.clock.now()
    demo_services.sla.evaluate(now)
    demo_services.sla_alerts.enqueue(now)
    huatong_alerts = [a for a in alert_rows(demo_services.db) if a["dest_person"] == "chen"]
    assert len(huatong_alerts) == 1 and huatong_alerts[0]["level"] == "warning"
    alert_id = huatong_alerts[0]["id"]
    untouched = {a["id"]: a for a in alert_rows(demo_services.db) if a["dest_person"] != "chen"}

    preview = ask(demo_services, "/handover chen lucy all")
    assert preview.data["pending_alerts"] == 3  # warning to chen, breach to the sales channel, escalation to boss
    done = ask(demo_services, f"/handover confirm {preview.data['handover_id']}")
    assert [(a["alert"], a["from"], a["to"]) for a in done.data["rerouted_alerts"]] == [
        (alert_id, "person:chen", "person:lucy")]
    after = {a["id"]: a for a in alert_rows(demo_services.db)}
    assert after[alert_id]["dest_person"] == "lucy" and "re-routed by handover" in after[alert_id]["route"]
    assert "Lucy Wang" in reply_of(demo_services.db, alert_id).text
    assert all(after[i] == a for i, a in untouched.items())  # team and manager alerts stay where they were

    channel = ConsoleChannel()
    deliver_pending(demo_services.db, [channel], demo_services.clock.now())
    sent = {key: d.person_id for d, _, key in channel.sent}
    assert sent[after[alert_id]["key"]] == "lucy"


def test_an_alert_already_sent_is_not_rerouted(demo_services: Services) -> None:
    now = demo_services.clock.now()
    demo_services.sla.evaluate(now)
    demo_services.sla_alerts.enqueue(now)
    deliver_pending(demo_services.db, [ConsoleChannel()], now)  # the console got chen's warning already
    chens = [a["id"] for a in alert_rows(demo_services.db) if a["dest_person"] == "chen"]
    reply = ask(demo_services, "/handover chen lucy all --yes")
    assert reply.data["rerouted_alerts"] == []
    assert chens and all(a["dest_person"] == "chen" for a in alert_rows(demo_services.db) if a["id"] in chens)


# ── undo ───────────────────────────────────────────────────────────────────────────────────────


def test_undo_restores_the_previous_owners_and_reroutes_back(demo_services: Services) -> None:
    now = demo_services.clock.now()
    demo_services.sla.evaluate(now)
    demo_services.sla_alerts.enqueue(now)
    chens = [a["id"] for a in alert_rows(demo_services.db) if a["dest_person"] == "chen"]
    hid = ask(demo_services, "/handover chen lucy all --yes", who="amy").data["handover_id"]
    assert {a["dest_person"] for a in alert_rows(demo_services.db) if a["id"] in chens} == {"lucy"}
    demo_services.clock.advance(days=6)
    undone = ask(demo_services, f"/handover undo {hid}", who="amy")
    assert undone.ok, undone.text
    assert {r["customer"] for r in undone.data["restored"]} == CHEN_CRM | {DONGFANG}
    for name in CHEN_CRM:
        assert owner(demo_services, name) == ("chen", "crm")
    assert owner(demo_services, DONGFANG) == ("chen", "inferred")  # inferred again, as before
    assert owner_of(demo_services.db, cid(demo_services, DONGFANG)) is None
    assert {a["dest_person"] for a in alert_rows(demo_services.db) if a["id"] in chens} == {"chen"}
    assert len(undone.data["rerouted_alerts"]) == len(chens)
    assert audit_rows(demo_services)[-1]["command"] == "handover undo"
    assert ask(demo_services, f"/handover undo {hid}", who="amy").error.code == "not_done"


def test_undo_is_refused_after_seven_days_and_for_another_actor(demo_services: Services) -> None:
    hid = ask(demo_services, "/handover chen lucy all --yes", who="amy").data["handover_id"]
    other = ask(demo_services, f"/handover undo {hid}", who="lucy")  # not who ran it, not a manager
    assert other.error is not None and other.error.code == "forbidden"
    demo_services.clock.advance(days=8)
    late = ask(demo_services, f"/handover undo {hid}", who="amy")
    assert late.error is not None and late.error.code == "too_late"
    late_manager = ask(demo_services, f"/handover undo {hid}", who="boss")
    assert late_manager.error is not None and late_manager.error.code == "too_late"
    assert owner(demo_services, PACRIM) == ("lucy", "handover")
    refusals = [(e["actor"], e["command"]) for e in audit_rows(demo_services) if e["result"].startswith("refused")]
    assert refusals == [("lucy", "handover undo"), ("amy", "handover undo"), ("boss", "handover undo")]


def test_a_manager_may_undo_someone_elses_handover(demo_services: Services) -> None:
    hid = ask(demo_services, "/handover chen lucy all --yes", who="amy").data["handover_id"]
    assert ask(demo_services, f"/handover undo {hid}", who="helen").ok


def test_undo_skips_customers_changed_since(demo_services: Services) -> None:
    hid = ask(demo_services, "/handover chen lucy all --yes").data["handover_id"]
    assert ask(demo_services, "/assign pacific rim li").ok
    undone = ask(demo_services, f"/handover undo {hid}")
    assert [s["customer"] for s in undone.data["skipped"]] == [PACRIM]
    assert undone.data["skipped"][0]["owner"] == "li"
    assert owner(demo_services, PACRIM) == ("li", "assignment")
    assert owner(demo_services, HUATONG) == ("chen", "crm")


# ── races ──────────────────────────────────────────────────────────────────────────────────────


def test_two_handovers_of_one_customer_one_wins_the_other_is_told(demo_services: Services) -> None:
    first = ask(demo_services, "/handover chen lucy pacrim").data["handover_id"]
    second = ask(demo_services, "/handover chen li pacrim ahmed").data["handover_id"]
    assert ask(demo_services, f"/handover confirm {first}").ok
    lost = ask(demo_services, f"/handover confirm {second}")
    assert lost.error is not None and lost.error.code == "conflict"
    assert "Pacific Rim Imports LLC is now owned by Lucy Wang" in lost.text
    assert lost.data["conflicts"][0]["owner"]["id"] == "lucy" and lost.data["state"] == "superseded"
    assert owner(demo_services, PACRIM) == ("lucy", "handover")
    assert owner(demo_services, AHMED) == ("chen", "crm")  # all or nothing: the loser moved nothing
    assert lost.buttons and '"Ahmed Trading Est."' in lost.buttons[0].command  # a fresh preview for the rest
    assert audit_rows(demo_services)[-1]["result"].startswith("superseded")


def test_two_processes_confirming_at_once(demo_services: Services, demo_dir: Path) -> None:
    """Two connections to one archive confirm at the same moment: the write lock lets exactly one win."""
    other = Services(load_config(demo_dir / "mailroom.toml"), Clock(DEMO_NOW))
    try:
        mine = ask(demo_services, "/handover chen lucy huatong").data["handover_id"]
        theirs = ask(other, "/handover chen amy huatong").data["handover_id"]
        barrier = threading.Barrier(2)
        results: dict[str, Reply] = {}

        def run(name: str, services: Services, hid: int) -> None:
            barrier.wait()
            results[name] = ask(services, f"/handover confirm {hid}")

        threads = [threading.Thread(target=run, args=("mine", demo_services, mine)),
                   threading.Thread(target=run, args=("theirs", other, theirs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        outcomes = sorted((r.ok, r.error.code if r.error else None) for r in results.values())
        assert outcomes == [(False, "conflict"), (True, None)]
        winner = "lucy" if results["mine"].ok else "amy"
        assert owner(demo_services, HUATONG) == (winner, "handover")
        loser = results["theirs" if winner == "lucy" else "mine"]
        assert loser.data["conflicts"][0]["owner"]["id"] == winner
    finally:
        other.db.conn.close()


# ── list, show, /audit ─────────────────────────────────────────────────────────────────────────


def test_list_and_show(demo_services: Services) -> None:
    hid = ask(demo_services, "/handover chen lucy all --yes").data["handover_id"]
    listed = ask(demo_services, "/handover list")
    assert [h["handover_id"] for h in listed.data["handovers"]] == [hid]
    shown = ask(demo_services, f"/handover show {hid}", who="lucy")
    assert shown.ok and shown.data["state"] == "done" and shown.buttons[0].command == f"/handover undo {hid}"
    assert "brief" in shown.data
    assert ask(demo_services, f"/handover show {hid}", who="grace").error.code == "not_found"
    assert ask(demo_services, "/handover list", who="grace").data["handovers"] == []


def test_audit_command_for_managers(demo_services: Services) -> None:
    ask(demo_services, "/handover chen lucy all --yes")
    recent = ask(demo_services, "/audit 5")
    assert recent.ok and [e["command"] for e in recent.data["entries"]] == ["handover confirm", "handover"]
    assert ask(demo_services, "/audit verify").data["intact"] is True
    member = ask(demo_services, "/audit", who="lucy")
    assert member.error is not None and member.error.code == "forbidden"


# ── through the real entry point ───────────────────────────────────────────────────────────────


def test_ask_json_contract(demo_dir: Path) -> None:
    config = str(demo_dir / "mailroom.toml")
    result = mailroom("--config", config, "--now", "2026-11-25T02:00:00Z", "ask", "--as", "boss", "--json",
                      "/handover chen lucy all --yes")
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["error"] is None and isinstance(reply["data"]["handover_id"], int)
    assert set(reply["data"]["customers"]) >= CHEN_CRM and DONGFANG in reply["data"]["customers"]
    refused = mailroom("--config", config, "--now", "2026-11-25T02:00:00Z", "ask", "--as", "li", "--json",
                       "/handover lucy li all --yes")
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["code"] == "forbidden"


def test_audit_verify_catches_an_edited_and_a_deleted_row_after_handovers(demo_services: Services,
                                                                          demo_dir: Path) -> None:
    hid = ask(demo_services, "/handover chen lucy all --yes").data["handover_id"]
    ask(demo_services, "/handover lucy li all", who="amy")
    ask(demo_services, f"/handover undo {hid}", who="li")  # refused: audited too
    ask(demo_services, f"/handover undo {hid}")
    entries = demo_services.db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert entries == 5  # preview, confirm, preview, refused undo, undo
    demo_services.db.conn.close()
    config = str(demo_dir / "mailroom.toml")
    intact = mailroom("--config", config, "audit", "verify")
    assert intact.returncode == 0 and "5 entries" in intact.stdout

    db = sqlite3.connect(demo_dir / "mailroom.db")
    original = db.execute("SELECT result FROM audit_log WHERE id = 2").fetchone()[0]
    db.execute("UPDATE audit_log SET result = 'done: 0 customer(s)' WHERE id = 2")
    db.commit()
    edited = mailroom("--config", config, "audit", "verify")
    assert edited.returncode == 1 and "audit entry 2" in edited.stderr and "edited" in edited.stderr

    db.execute("UPDATE audit_log SET result = ? WHERE id = 2", [original])
    db.execute("DELETE FROM audit_log WHERE id = 4")
    db.commit()
    db.close()
    deleted = mailroom("--config", config, "audit", "verify")
    assert deleted.returncode == 1 and "audit entry 4" in deleted.stderr


@pytest.mark.parametrize("text", ["/handover", "/handover chen", "/handover confirm", "/handover undo x",
                                  "/handover chen lucy all --force"])
def test_bad_arguments_answer_with_usage(demo_services: Services, text: str) -> None:
    reply = ask(demo_services, text)
    assert reply.error is not None and reply.error.code == "usage" and "/handover" in reply.text
