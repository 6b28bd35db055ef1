"""The enumerating leak test (issue 16): every command, slash and plain-language, as every person, and
every scheduler round (SLA alerts, digests, handover briefs, rules nudges, inquiry claims); no reply and
no outbox row addressed to a person or a channel holds a subject, snippet, sender address or attachment
name of a message its readers may not read. Logs (DEBUG too, as `-v` prints) hold none of restricted
mailboxes either.

Generic by construction: commands come from the registry, their words from their usage lines, their
plain-language forms from their own patterns (tests/unit/test_rights_leaks.py `example`), and what each
reader may see from the archive and the rights (tests/fakes/leak_helpers.py) — a new command is covered
without editing this file. Run under the demo factory and under a config where people hold partial rights
(managers who may not read support@, a salesperson who may read order@, an inquiry routed to someone
who may not read inquiry@).
"""

import logging
import re
import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.chat.commands import REGISTRY, Command
from bot.chat.router import Router
from bot.core.clock import Clock
from bot.core.config import Person, load_config
from bot.core.reply import Reply
from bot.mail.importer import import_messages
from bot.outbox import ConsoleChannel
from bot.scheduler import scheduler_tick
from bot.search.rights import restricted_mailboxes
from bot.services import Services
from tests.conftest import DEMO_NOW
from tests.fakes.leak_helpers import Oracle, norm, reply_texts
from tests.fakes.rules_helpers import HANS, LUCY, ORDER, eml

INQUIRY = "inquiry@hengda-valves.com"
STATS: dict[str, int] = {}
"""Answers that succeeded, per command (the run must reach past the usage errors)."""
PARTIAL = """
[permissions."support@hengda-valves.com"]
read = ["team:support", "role:admin", "kevin", "amy"]

[permissions."order@hengda-valves.com"]
read = ["team:merch", "role:admin", "li"]

[[rules.routing.rules]]
keywords = ["kingfisher"]
person = "tom"
"""


# ── plain-language forms, generated from each command's own patterns ─────────────────────────
def example(pattern: re.Pattern[str], fill: str) -> str | None:
    """A text the pattern matches, with `fill` as its `args` group; None when it cannot make one."""
    c = sre_constants
    args_group = pattern.groupindex.get("args")

    def one_of(items: list[tuple[Any, Any]]) -> str:
        op, av = items[0]
        if op is c.NEGATE:
            return "x"
        if op is c.LITERAL:
            return chr(av)
        if op is c.RANGE:
            return chr(av[0])
        if op is c.CATEGORY:
            return {c.CATEGORY_SPACE: " ", c.CATEGORY_DIGIT: "1", c.CATEGORY_WORD: "a"}.get(av, "x")
        return "x"

    state = {"args": False, "filled": False}

    def gen(items: Any) -> str:
        out: list[str] = []
        for op, av in items:
            if state["args"] and op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[2] and av[2][0][0] in (c.ANY, c.NOT_LITERAL):
                out.append("amy" if state["filled"] else fill)  # the args' free text: the fill, then a person
                state["filled"] = True
                continue
            if op is c.LITERAL:
                out.append(chr(av))
            elif op is c.NOT_LITERAL or op is c.ANY:
                out.append("x")
            elif op is c.IN:
                out.append(one_of(list(av)))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                low, _, sub = av
                out.append(gen(sub) * low)
            elif op is c.SUBPATTERN:
                group, _, _, sub = av
                if group is not None and group == args_group:
                    state["args"] = True
                    out.append(gen(sub))
                    state["args"] = False
                else:
                    out.append(gen(sub))
            elif op is c.BRANCH:
                out.append(gen(av[1][0]))
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF):
                continue
            else:
                return "\x00"
        return "".join(out)

    text = gen(sre_parse.parse(pattern.pattern, pattern.flags))
    if "\x00" in text:
        return None
    if args_group is None:
        return text
    return text if pattern.match(text) else None


def plain_forms(router: Router, cmd: Command, fills: list[str]) -> list[str]:
    found = []
    for pattern in cmd.patterns:
        for fill in fills:
            text = example(pattern, fill)
            if text and (parsed := router.parse(text)) is not None and parsed[0].name == cmd.name:
                found.append(text)
                break
    return found


# ── arguments, from each command's usage line and the archive ─────────────────────────────────
def verbs(cmd: Command) -> list[str]:
    usage = re.sub(r"<[^>]*>|\[[a-z]+:[^\]]*\]|\S+:\S+", " ", cmd.usage)
    words = re.findall(r"(?<![\w/.@-])(?:--)?[a-z]{2,}(?![\w:@.-])", usage)
    return [w for w in dict.fromkeys(words) if w not in (cmd.name, *cmd.aliases)]


def latest(db: Any, table: str) -> str:
    row = db.execute(f"SELECT max(id) FROM {table}").fetchone()
    return str(row[0] or 1)


def values(services: Services) -> tuple[list[Callable[[], str]], list[Callable[[], str]]]:
    """(values, ids): what to put after a command or after one of its verbs; evaluated at call time."""
    db = services.db
    hidden = db.execute(
        "SELECT m.id, m.message_id, m.subject FROM messages m WHERE EXISTS (SELECT 1 FROM sightings s WHERE "
        "s.message = m.id AND s.mailbox = 'support@hengda-valves.com') AND NOT EXISTS (SELECT 1 FROM sightings s "
        "WHERE s.message = m.id AND s.mailbox <> 'support@hengda-valves.com') ORDER BY m.id DESC LIMIT 1").fetchone()
    order_only = db.execute(
        "SELECT m.id FROM messages m WHERE EXISTS (SELECT 1 FROM sightings s WHERE s.message = m.id AND "
        "s.mailbox = ?) ORDER BY m.id DESC LIMIT 1", [ORDER]).fetchone()
    customers = [r[0] for box in ("support@hengda-valves.com", ORDER) for r in db.execute(
        "SELECT c.name FROM customers c JOIN messages m ON m.customer_id = c.id JOIN sightings s ON s.message = m.id "
        "WHERE s.mailbox = ? GROUP BY c.id ORDER BY count(*) DESC LIMIT 1", [box])]
    word = next((w for w in re.findall(r"[A-Za-z]{6,}", hidden[2])), "leaking")
    items = [str(r[0]) for r in db.execute("SELECT min(id) FROM sla_items GROUP BY mailbox ORDER BY mailbox")]
    plain = [
        lambda: "mine", lambda: "all", lambda: "Acme Trading", *(lambda n=n: n for n in customers),
        lambda: "@amy", lambda: "chen lucy all", lambda: "chen lucy all --yes", lambda: "amy li Acme Trading --yes",
        lambda: f"#{hidden[0]}", lambda: hidden[1], lambda: f"#{order_only[0]}", lambda: word,
        lambda: f"mailbox:support {word}", lambda: f"csv {word}", lambda: f"{hidden[0]} complaint",
        lambda: "amy until 2026-12-31 backup li",
    ]
    ids = [*(lambda i=i: i for i in items), lambda: latest(db, "handovers"), lambda: latest(db, "inquiry_claims"),
           lambda: "support", lambda: customers[0] if customers else "Acme"]
    return plain, ids


def planted_mail(services: Services) -> None:
    """Fresh mail the rules act on: a collision in order@ only, two new inquiries (claims)."""
    now = DEMO_NOW
    raws = [
        eml("Lucy re-quotes Acme PO 7781 privately", "Hans, our special price for PO 7781 is 12.40 EUR per piece.",
            frm=LUCY, to=[HANS[1]], cc=[ORDER], when=now - timedelta(hours=2), attachments=["Acme-secret-price.pdf"]),
        eml("Anfrage Kugelhahn DN80 fuer Berger Armaturen", "Bitte um Angebot fuer 200 Kugelhaehne DN80 PN16.",
            frm=("Klaus Berger", "klaus@berger-armaturen.de"), to=[INQUIRY], when=now - timedelta(hours=1)),
        eml("Kingfisher request for DN100 gate valves", "We need 40 gate valves DN100 for the Kingfisher plant.",
            frm=("Jean Dupont", "jean@kingfisher-valves.fr"), to=[INQUIRY], when=now - timedelta(minutes=50)),
    ]
    import_messages(services.archive, [(str(i), raw) for i, raw in enumerate(raws)])


# ── the run ───────────────────────────────────────────────────────────────────────────────────
def audience(services: Services, kind: str, person: str | None, team: str | None) -> list[Person]:
    directory = services.directory
    if kind == "person":
        return [directory.people[person]] if person in directory.people else []
    members = list(directory.members_of(team or ""))
    manager = directory.teams[team].manager if team in directory.teams else None
    if manager and manager in directory.people and manager not in [p.id for p in members]:
        members.append(directory.people[manager])
    return members


def outbox_leaks(services: Services, oracle: Oracle) -> tuple[list[str], set[str]]:
    leaks: list[str] = []
    kinds: set[str] = set()
    for key, kind, dest_kind, person, team, reply_json in services.db.execute(
            "SELECT key, kind, dest_kind, dest_person, dest_team, reply FROM sla_alerts WHERE dest_kind IS NOT NULL"):
        readers = audience(services, dest_kind, person, team)
        reply = Reply.model_validate_json(reply_json)
        kinds.add(f"{kind}:{reply.command}")
        leaks += [f"outbox {key} → {dest_kind} {person or team}: {leak}"
                  for leak in oracle.leaks(readers, [(key, reply_texts(reply))])]
    return leaks, kinds


def run_everything(services: Services, oracle: Oracle) -> tuple[list[str], int, set[str]]:
    """Every scheduler round and every command as every person; returns (leaks, replies, outbox kinds)."""
    router = Router(services)
    clock = services.clock
    leaks: list[str] = []
    count = 0
    channel = ConsoleChannel()
    scheduler_tick(services, [channel])
    plain, ids = values(services)
    people = list(services.directory.people.values())
    for cmd in sorted({c.name: c for c in REGISTRY.values()}.values(), key=lambda c: c.name, reverse=True):
        texts = [f"/{cmd.name}"]
        texts += [f"/{cmd.name} {v()}" for v in [*plain, *ids]]
        texts += [f"/{cmd.name} {verb}" for verb in verbs(cmd)]
        texts += [f"/{cmd.name} {verb} {v()}" for verb in verbs(cmd) for v in ids]
        if "<customer" in cmd.usage:  # every customer, for the commands that take one
            texts += [f"/{cmd.name} {name}" for (name,) in services.db.execute("SELECT name FROM customers")]
        forms = plain_forms(router, cmd, [v() for v in plain[2:5]] + ["mine"])
        assert forms or not cmd.patterns, f"/{cmd.name}: no plain-language form could be made from its patterns"
        texts += forms
        for person in people:
            answers = [(text, router.handle(text, person)) for text in texts]
            STATS[cmd.name] = STATS.get(cmd.name, 0) + sum(1 for _, r in answers if r.ok)
            replies = [(f"{person.id}: {text}", reply_texts(reply)) for text, reply in answers]
            count += len(replies)
            leaks += oracle.leaks([person], replies)
    for hours in (0, 1, 5, 26, 80):  # claims time out and pass on, SLA levels are reached, digests come
        clock.set(DEMO_NOW + timedelta(hours=hours))
        scheduler_tick(services, [channel])
    found, kinds = outbox_leaks(services, oracle)
    return leaks + found, count, kinds


@pytest.fixture(params=["demo", "partial"])
def rights_case(request: pytest.FixtureRequest, demo_dir: Path) -> Services:
    config = demo_dir / "mailroom.toml"
    if request.param == "partial":
        config.write_text(config.read_text(encoding="utf-8") + PARTIAL, encoding="utf-8")
    services = Services(load_config(config), Clock(DEMO_NOW))
    planted_mail(services)
    request.addfinalizer(services.db.conn.close)
    return services


def test_no_view_shows_mail_its_readers_may_not_read(rights_case: Services,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    services = rights_case
    config_text = Path(services.config.source).read_text(encoding="utf-8") if getattr(
        services.config, "source", None) else ""
    oracle = Oracle.build(services, config_text)
    with caplog.at_level(logging.DEBUG):
        leaks, replies, kinds = run_everything(services, oracle)
    assert replies > 1000
    assert all(STATS.get(name, 0) > 0 for name in {c.name for c in REGISTRY.values()}), str(sorted(STATS.items()))
    # every kind of outbox row was produced, so each was checked: alerts, digests, briefs, nudges, claims
    for wanted in ("sla:sla.alert", "digest:sla.digest", "handover:handover.brief", "rules:rules.nudge",
                   "rules:rules.claim"):
        assert wanted in kinds, f"no {wanted} row was produced: {sorted(kinds)}"
    assert not leaks, f"{len(leaks)} leak(s):\n" + "\n".join(leaks[:40])

    # logs, -v (DEBUG) included, hold no subject or body of mail in restricted mailboxes
    restricted = restricted_mailboxes(services.config)
    logged = "\x00".join(norm(r.getMessage()) for r in caplog.records)
    secret = [m for m in oracle.messages.values() if m.mailboxes and set(m.mailboxes) <= restricted]
    assert secret
    open_corpus = "\x00".join(m.corpus for m in oracle.messages.values() if not set(m.mailboxes) <= restricted)
    in_logs = [f"#{m.id} {kind}: {needle[:40]!r}" for m in secret for needle, kind in m.needles.items()
               if kind in ("subject", "body") and needle in logged and needle not in open_corpus]
    assert not in_logs, "\n".join(in_logs[:20])
