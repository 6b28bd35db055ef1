"""The dashboard in a real browser: headless Chromium (Debian's `chromium`, which scripts/test installs)
signs in through a chat-issued link, and the rendered DOM is checked — figures, a breached customer, a
restricted person not seeing a mailbox they may not read, an expired or reused link refused, mail text
escaped. Screenshots of each page at phone width go to docs/."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.chat.web import Routes, WebServer
from bot.report.access import issue_link
from bot.report.figures import compute
from bot.services import Services
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (scripts/test installs Debian's chromium)")
DOCS = ROOT / "docs"
PHONE = "412,1600"


@dataclass
class Site:
    services: Services
    base: str
    profile: Path

    def link(self, person: str, page: str = "/") -> str:
        token = issue_link(self.services.db, self.services.audit, person, self.services.clock.now()).token
        return f"{self.base}/signin?t={quote(token, safe='.')}&next={quote(page)}"

    def _flags(self) -> list[str]:
        assert CHROMIUM is not None
        return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                f"--user-data-dir={self.profile / str(len(list(self.profile.iterdir())))}"]  # fresh each time

    def browse(self, url: str) -> str:
        """The DOM after load."""
        dom = subprocess.run([*self._flags(), "--dump-dom", url], capture_output=True, text=True, timeout=90)
        assert dom.returncode == 0, dom.stderr[-2000:]
        return dom.stdout

    def screenshot(self, person: str, page: str, name: str) -> None:
        """docs/NAME: the page at phone width (412 px; tall enough for the whole page), through a fresh link."""
        DOCS.mkdir(exist_ok=True)
        shot = subprocess.run([*self._flags(), f"--window-size={PHONE}", "--hide-scrollbars",
                               f"--screenshot={DOCS / name}", self.link(person, page)],
                              capture_output=True, text=True, timeout=90)
        assert shot.returncode == 0 and (DOCS / name).stat().st_size > 5000, shot.stderr[-2000:]


@pytest.fixture
def site(demo_services: Services, tmp_path: Path) -> Iterator[Site]:
    services = demo_services
    services.sla.evaluate(services.clock.now())
    with services.db.conn:  # a customer's hostile subject: must come out as text
        services.db.execute("UPDATE threads SET subject = ? WHERE id = (SELECT m.thread_id FROM sla_items i "
                            "JOIN messages m ON m.id = i.message JOIN customers c ON c.id = m.customer_id "
                            "WHERE i.closed_at IS NULL AND c.name LIKE '%华通%' LIMIT 1)",
                            ["<script>document.title='pwned'</script><b>RFQ</b>"])
    routes = Routes()  # mounted as `mailroom serve` mounts it, behind the same limits
    routes.mount("/dashboard/", services.dashboard)
    server = WebServer(routes)
    server.start()
    profile = tmp_path / "chromium"
    profile.mkdir()
    yield Site(services, f"http://127.0.0.1:{server.port}/dashboard", profile)
    server.stop()


def text_of(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', dom, re.S)
    assert match, f"no #{element_id} in the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def table_rows(dom: str, element_id: str) -> list[str]:
    match = re.search(rf'<table[^>]*id="{element_id}".*?<tbody>(.*?)</tbody>', dom, re.S)
    assert match, f"no table #{element_id}"
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S)]


def test_overview_shows_the_figures_and_a_breached_customer(site: Site) -> None:
    services = site.services
    dom = site.browse(site.link("boss"))
    site.screenshot("boss", "/", "dashboard-overview.png")
    report = compute(services.db, services.config, now=services.clock.now(),
                     rights=services.permissions.readable_mailboxes(services.directory.people["boss"]), days=7)
    assert text_of(dom, "open-total") == str(sum(report.figures.open_by_state.values()))
    assert text_of(dom, "breaches") == f"{report.figures.breaches} / {report.figures.escalations}"
    rows = table_rows(dom, "waiting")
    assert any("深圳华通贸易有限公司" in r and ("breached" in r or "escalated" in r) for r in rows)
    assert '<svg viewBox' in dom and 'id="trend"' in dom


def test_every_page_renders_at_phone_width(site: Site) -> None:
    huatong = site.services.db.execute("SELECT id FROM customers WHERE name LIKE '%华通%'").fetchone()[0]
    pages = {"team": "/team/sales", "person": "/person/amy", "customer": f"/customer/{huatong}",
             "handovers": "/handovers", "rules": "/rules"}
    for name, page in pages.items():
        dom = site.browse(site.link("boss", page))
        assert "<main>" in dom and "Please sign in" not in dom and "No such" not in dom, name
        site.screenshot("boss", page, f"dashboard-{name}.png")
    dom = site.browse(site.link("boss", f"/customer/{huatong}"))
    assert text_of(dom, "owner") == "Chen Hao"
    (row,) = [r for r in table_rows(dom, "threads") if "RFQ" in r]
    assert "<script>document.title='pwned'</script><b>RFQ</b>" in row.replace("&lt;", "<").replace("&gt;", ">")
    assert "&lt;script&gt;" in dom and "<script>document.title" not in dom  # escaped, never run
    assert "<title>深圳华通贸易有限公司 · Mailroom</title>" in dom


def test_a_restricted_person_does_not_see_a_mailbox_they_may_not_read(site: Site) -> None:
    services = site.services
    tom = services.directory.people["tom"]  # merchandising: order@ and shipping@, not inquiry@
    assert "inquiry@hengda-valves.com" not in services.permissions.readable_mailboxes(tom)
    dom = site.browse(site.link("tom"))
    assert "inquiry@hengda-valves.com" not in dom
    assert not any("inquiry@" in r for r in table_rows(dom, "waiting"))
    huatong = services.db.execute("SELECT id FROM customers WHERE name LIKE '%华通%'").fetchone()[0]
    page = site.browse(site.link("tom", f"/customer/{huatong}"))  # seen in order@ too: shown, without inquiry@
    assert text_of(page, "customer-name") == "深圳华通贸易有限公司"
    assert "inquiry@" not in page and "RFQ" not in " ".join(table_rows(page, "threads"))
    unseen = services.db.execute("SELECT id, name FROM customers WHERE id NOT IN "
                                 "(SELECT customer_id FROM messages WHERE customer_id IS NOT NULL)").fetchone()
    refused = site.browse(site.link("tom", f"/customer/{unseen[0]}"))  # no mail tom may read
    assert "No such customer" in refused and unseen[1] not in refused
    other = site.browse(site.link("tom", "/person/amy"))
    assert "No such page" in other


def test_expired_and_reused_links_are_refused(site: Site) -> None:
    old = site.link("boss")
    site.services.clock.advance(minutes=16)
    assert "has expired" in text_of(site.browse(old), "message")
    fresh = site.link("boss")
    assert 'id="open-total"' in site.browse(fresh)
    assert "used already" in text_of(site.browse(fresh), "message")
    assert "Please sign in" in site.browse(f"{site.base}/")  # no session in a fresh browser
    forged = fresh[:-8] + "AAAAAAAA" if not fresh.endswith("AAAAAAAA") else fresh[:-8] + "BBBBBBBB"
    assert "not valid" in text_of(site.browse(forged.replace("&next=%2F", "")), "message")
