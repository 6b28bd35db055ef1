"""`mailroom rules` (what the guide's mail rules found; `tick`, `digest`) and `mailroom categories`
(order@ / support@ categories; `backfill`)."""

import json
from collections import Counter
from dataclasses import asdict
from typing import Any

import click

from bot.cli.output import echo_reply
from bot.core.errors import MailroomError
from bot.core.reply import Reply, bullets, context, heading

RULE_CHOICES = ("missing_cc", "cc_gap", "subject_convention", "quotation_name", "collision")




@click.group("rules", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True,
              help="JSON: data.violations[] with message_id, rule, person, customer, expected (+ subject, date, "
                   "thread_id, evidence, notified).")
@click.option("--rule", type=click.Choice(RULE_CHOICES), help="Only this rule.")
@click.option("--person", metavar="ID", help="Only findings about this person.")
@click.option("--limit", type=click.IntRange(0), default=0, help="At most this many (default: all).")
@click.pass_context
def rules(ctx: click.Context, as_json: bool, rule: str | None, person: str | None, limit: int) -> None:
    """What the guide's mail rules found: missing CCs, CC gaps, naming conventions, collisions.

    Scans the mail archived since the last scan first (nothing is sent to chat; `mailroom rules tick` does)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.rules.violations import RULE_LABELS, violations

    services = ctx.obj.services
    now = services.clock.now()
    scan = services.rules.scan(now)
    found = violations(services.db, rule=rule, person=person, limit=limit or None)
    counts = Counter(v["rule"] for v in found)
    lines = [f"{v['date'] or '?'} {v['rule']}: {v['customer'] or '-'} · {v['person'] or '-'} · "
             f"“{v['subject'][:60]}” → {v['expected'] or '-'}" for v in found[:50 if not as_json else 0]]
    blocks = [heading(f"Mail rules: {len(found)} finding(s)")]
    if counts:
        blocks.append(bullets([f"{RULE_LABELS[r]}: {n}" for r, n in sorted(counts.items())]))
    if lines:
        blocks.append(bullets(lines))
    if len(found) > 50 and not as_json:
        blocks.append(context(f"{len(found) - 50} more: --json for all"))
    reply = Reply(command="rules", blocks=blocks,
                  data={"violations": found, "counts": dict(counts), "scan": asdict(scan)})
    echo_reply(reply, as_json=as_json)


@rules.command("tick")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def tick(app: Any, as_json: bool) -> None:
    """Scan, route and pass on inquiries, check the pool, queue nudges; deliver the outbox once (cron, tests)."""
    from bot.outbox import ConsoleChannel, deliver_pending

    services = app.services
    now = services.clock.now()
    report = services.rules.tick(now)
    delivery = deliver_pending(services.db, [ConsoleChannel()], now)
    if as_json:
        click.echo(json.dumps({**report.as_json(), "delivered": asdict(delivery)}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{report.line()}; delivered {delivery.sent} on the console")


@rules.command("digest")
@click.option("--team", "team_id", metavar="ID", help="One team (default: every team with figures).")
@click.option("--days", type=click.IntRange(1, 366), default=7, help="Window in days (default 7).")
@click.option("--json", "as_json", is_flag=True,
              help="data.digest: teams[] and people[] with milestones(_ok/_share), subjects, quotations, "
                   "collisions, pool_moves.")
@click.pass_obj
def digest(app: Any, team_id: str | None, days: int, as_json: bool) -> None:
    """Compliance figures per team and person: CCs on milestones, naming conventions, collisions, pool moves."""
    from bot.rules.digest import digest_data, digest_reply

    services = app.services
    if team_id is not None and team_id not in services.directory.teams:
        raise MailroomError(f"--team {team_id}: no such team (teams: {', '.join(services.directory.teams)})")
    now = services.clock.now()
    services.rules.scan(now)
    zone = services.config.organization.timezone
    echo_reply(digest_reply(zone, digest_data(services.db, services.directory, now, days), now, team=team_id),
               as_json=as_json)


@click.group("categories", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True,
              help="JSON: data.items[] with message_id, mailbox, category, confidence (+ id, subject, date, via, "
                   "corrected).")
@click.option("--mailbox", metavar="ADDRESS", help="One mailbox (order@…, support@…).")
@click.option("--category", metavar="NAME", help="Only this category.")
@click.option("--limit", type=click.IntRange(0), default=0, help="At most this many, newest first (default: all).")
@click.pass_context
def categories(ctx: click.Context, as_json: bool, mailbox: str | None, category: str | None, limit: int) -> None:
    """Categories of order@ mail (po, delivery, shipping, exception) and support@ mail (rma, complaint, spare)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.store.db import write_transaction

    services = ctx.obj.services
    engine = services.rules
    if mailbox:
        box = services.directory.mailbox_by_name(mailbox)
        if box is None or box.address not in engine.categories.boxes:
            raise MailroomError(f"--mailbox {mailbox}: not an order or support mailbox "
                                f"({', '.join(engine.categories.boxes) or 'none configured'})")
        mailbox = box.address
    with write_transaction(services.db):
        engine.categories.drain()
    items = engine.categories.items(mailbox=mailbox, category=category, limit=limit or None)
    counts = Counter(f"{i['mailbox'].split('@')[0]}@ {i['category'] or '(none)'}" for i in items)
    blocks = [heading(f"Categories: {len(items)} message(s)"),
              bullets([f"{k}: {v}" for k, v in sorted(counts.items())])]
    if not as_json:
        blocks.append(bullets([f"#{i['id']} {i['category'] or '-'} ({i['confidence']:.2f}) “{i['subject'][:70]}”"
                               for i in items[:20]], title="Newest:"))
    echo_reply(Reply(command="categories", blocks=blocks, data={"items": items, "counts": dict(counts)}), as_json=as_json)


@categories.command("backfill")
@click.option("--all", "everything", is_flag=True, help="Sort every message again (corrections are kept).")
@click.pass_obj
def backfill(app: Any, everything: bool) -> None:
    """Sort archived order@ / support@ mail that has no category yet (e.g. archived before this feature)."""
    from bot.store.db import write_transaction

    services = app.services
    with write_transaction(services.db):
        done = services.rules.categories.backfill(everything=everything)
        services.db.execute("DELETE FROM category_queue")
    click.echo(f"{done} message(s) sorted")
