"""Rights in /search, /show and /export: only readable mailboxes, export right, audit of restricted mail."""

import csv
import json
import mailbox
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.chat.router import Router
from bot.cli.main import cli
from bot.core.clock import Clock
from bot.services import Services
from tests.fakes.search_helpers import ORG, ids, make_mail, small_archive

SUPPORT_ONLY = f"""SELECT m.id FROM messages m WHERE NOT EXISTS (
    SELECT 1 FROM sightings s WHERE s.message = m.id AND s.mailbox NOT IN ('support@{ORG}', 'audit@{ORG}'))"""


def _audit(services: Services, command: str) -> list[dict]:
    return [e for e in services.audit.recent(100) if e["command"] == command]


def _support_only_id(services: Services) -> int:
    row = services.db.execute(SUPPORT_ONLY + " AND m.subject LIKE 'Leaking%' ORDER BY m.id LIMIT 1").fetchone()
    return int(row[0])


@pytest.mark.parametrize("query", ["leaking", "补发", "PO", "valve", "mailbox:support", "photos", "24 hours", "quotaton"])
def test_a_sales_member_never_sees_support_only_mail(demo_services: Services, query: str) -> None:
    support_only = {r[0] for r in demo_services.db.execute(SUPPORT_ONLY)}
    as_admin, as_li = set(ids(demo_services, query)), set(ids(demo_services, query, "li"))
    assert as_li <= as_admin
    assert not as_li & support_only
    readable = {r[0] for r in demo_services.db.execute(
        f"SELECT message FROM sightings WHERE mailbox IN ('inquiry@{ORG}', 'li@{ORG}')")}
    assert as_li <= readable
    if query != "quotaton":
        assert as_admin & support_only, "the query must reach support mail at all"


def test_visible_through_any_of_its_mailboxes_and_unassigned_only_for_admins(tmp_path: Path, clock: Clock) -> None:
    services = small_archive(tmp_path, clock, [
        make_mail("both", "okapi", to=[f"inquiry@{ORG}"], cc=[f"support@{ORG}"]),
        make_mail("support only", "okapi", to=[f"rma@{ORG}"]),
        make_mail("nowhere", "okapi", to=["someone@elsewhere.example"]),
    ])

    def subjects(who: str) -> set[str]:
        return {hit.subject for hit in services.search.search(services.directory.find_person(who), "okapi").hits}

    assert subjects("li") == {"both"}
    assert subjects("grace") == {"both", "support only"}
    assert subjects("boss") == {"both", "support only"}  # a manager reads every mailbox, not unassigned mail
    assert subjects("zhou") == {"both", "support only", "nowhere"}
    hit = services.search.search(services.directory.find_person("li"), "okapi").hits[0]
    assert hit.mailboxes == [f"inquiry@{ORG}"]  # support@ is not shown to someone who cannot read it


def test_show_checks_the_same_rights_and_audits_restricted_mail(demo_services: Services) -> None:
    router = Router(demo_services)
    li, grace = (demo_services.directory.find_person(p) for p in ("li", "grace"))
    target = _support_only_id(demo_services)

    refused = router.handle(f"/show {target}", li)
    assert refused.error is not None and refused.error.code == "not_found"
    assert "Leaking" not in refused.text
    shown = router.handle(f"/show #{target}", grace)
    assert shown.error is None and shown.data["subject"].startswith("Leaking")
    assert "photos.pdf" in shown.text and "leaking at the stem" in shown.text

    entries = _audit(demo_services, "show")
    assert [(e["actor"], e["result"], e["args"]["id"]) for e in reversed(entries)] == [
        ("li", "refused", target), ("grace", "shown", target)]
    assert demo_services.audit.verify() is None


def test_show_of_unrestricted_mail_is_not_audited_and_works_by_message_id(demo_services: Services) -> None:
    router = Router(demo_services)
    li = demo_services.directory.find_person("li")
    row = demo_services.db.execute(
        f"SELECT m.id, m.message_id FROM messages m JOIN sightings s ON s.message = m.id "
        f"WHERE s.mailbox = 'inquiry@{ORG}' ORDER BY m.id LIMIT 1").fetchone()
    assert router.handle(f"/show {row[0]}", li).data["id"] == row[0]
    assert router.handle(f"/show <{row[1]}>", li).data["id"] == row[0]
    assert router.handle("show 999999", li).error.code == "not_found"
    assert _audit(demo_services, "show") == []


def test_export_needs_the_export_right_on_every_mailbox(demo_services: Services, demo_dir: Path) -> None:
    router = Router(demo_services)
    people = {p: demo_services.directory.find_person(p) for p in ("li", "grace", "boss", "zhou")}

    refused = router.handle("/export 补发", people["grace"])  # support@ export is admins' only
    assert refused.error is not None and refused.error.code == "forbidden"
    assert "support@" in refused.text
    assert router.handle("/export quotation", people["li"]).error.code == "forbidden"  # members cannot export
    assert router.handle("/export leaking", people["boss"]).error.code == "forbidden"
    allowed = router.handle("/export quotation mailbox:inquiry -support", people["boss"])
    assert allowed.error is None, allowed.text
    assert not list((demo_dir / "exports").glob("*zhou*"))

    log = _audit(demo_services, "export")
    assert [(e["actor"], e["result"]) for e in reversed(log)] == [
        ("grace", "refused"), ("boss", "refused"), ("boss", "exported")]


def test_export_writes_csv_and_mbox_under_the_archive_folder(demo_services: Services, demo_dir: Path) -> None:
    router = Router(demo_services)
    zhou = demo_services.directory.find_person("zhou")
    reply = router.handle("/export 补发", zhou)
    path = Path(reply.data["path"])
    assert path.parent == demo_dir / "exports" and path.suffix == ".csv"
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == reply.data["count"] == len(ids(demo_services, "补发"))
    assert all("补发" in r["subject"] + r["body"] for r in rows)
    assert {"message_id", "subject", "from", "date", "mailboxes", "customer", "attachments"} <= set(rows[0])

    reply = router.handle("/export mbox PO 4541", zhou)
    box = mailbox.mbox(reply.data["path"])
    subjects = sorted(str(m["Subject"]) for m in box)
    box.close()
    assert len(subjects) == 3 and all("4541" in s for s in subjects)
    assert Path(reply.data["path"]).parent == demo_dir / "exports"
    assert [e["result"] for e in _audit(demo_services, "export")] == ["exported", "exported"]


def test_cli_search_json_shape_and_rights(demo_dir: Path) -> None:
    runner = CliRunner()
    base = ["--config", str(demo_dir / "mailroom.toml"), "--now", "2026-11-25T02:00:00Z"]
    result = runner.invoke(cli, [*base, "search", "--json", "补发"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["data"]["hits"]
    assert hits
    for hit in hits:
        assert {"message_id", "subject", "from", "date", "mailboxes", "customer", "score", "id", "snippet"} <= set(hit)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    as_li = runner.invoke(cli, [*base, "search", "--json", "--as", "li", "补发"])
    li_hits = json.loads(as_li.output)["data"]["hits"]
    assert all(h["mailboxes"] == [f"inquiry@{ORG}"] for h in li_hits)
    text = runner.invoke(cli, [*base, "search", "PO", "4541"])
    assert text.exit_code == 0 and "PO 4541 - Butterfly Valve" in text.output
    assert runner.invoke(cli, [*base, "search", "mailbox:nowhere"]).exit_code == 1
    reindexed = runner.invoke(cli, [*base, "reindex", "--full"])
    assert reindexed.exit_code == 0 and "indexed" in reindexed.output


def test_a_personal_mailbox_belongs_to_its_person_alone(demo_services: Services) -> None:
    """Mail synced from someone's `[people.imap]` is filed under their address: theirs to read and export,
    nobody else's below admin, in search and in every other rights check alike."""
    directory, permissions = demo_services.directory, demo_services.permissions
    amy, li = directory.find_person("amy"), directory.find_person("li")
    admin = directory.admins()[0]
    assert amy is not None and li is not None and amy.email != li.email
    for right in ("read", "reply", "export"):
        assert permissions.can(amy, right, amy.email)
        assert not permissions.can(li, right, amy.email)
        assert permissions.can(admin, right, amy.email)
    assert not permissions.can(amy, "read", "")
