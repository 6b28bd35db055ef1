"""DNS sender authentication (SPF, DKIM, DMARC, MX) against a local DNS server: good, missing and broken
records, SERVFAIL, and a nameserver that never answers. No test touches the internet."""

import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from bot.core.config import load_config
from bot.doctor.dns import Dns, check_dkim, check_dmarc, check_mx, check_spf, parse_spf, run_dns_checks
from bot.doctor.model import Check
from bot.mail.providers import PROVIDERS
from tests.fakes.dns_server import FakeDns, Zone

EXMAIL = [PROVIDERS["exmail"]]


def rsa_key(bits: int) -> str:
    if bits >= 1024:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    else:  # cryptography refuses to generate short keys; the public numbers alone make one
        key = rsa.RSAPublicNumbers(65537, secrets.randbits(bits) | (1 << (bits - 1)) | 1).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def ed25519_key() -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


SPF_PROVIDER = "v=spf1 ip4:203.0.113.0/24 -all"


def zone() -> Zone:
    """good.test is right everywhere; each other domain breaks one thing."""
    z: Zone = {
        ("spf.mail.qq.com", "TXT"): [SPF_PROVIDER],
        ("good.test", "MX"): ["5 mxbiz1.qq.com.", "10 mxbiz2.qq.com."],
        ("good.test", "TXT"): ["google-site-verification=abc", "v=spf1 include:spf.mail.qq.com -all"],
        ("s1._domainkey.good.test", "TXT"): [f"v=DKIM1; k=rsa; p={rsa_key(2048)}"],
        ("_dmarc.good.test", "TXT"): ["v=DMARC1; p=quarantine; rua=mailto:dmarc@good.test; adkim=s"],
        ("ed.test", "TXT"): ["v=spf1 -all"],
        ("mail._domainkey.ed.test", "TXT"): [f"v=DKIM1; k=ed25519; p={ed25519_key()}"],
        ("short._domainkey.ed.test", "TXT"): [f"v=DKIM1; k=rsa; p={rsa_key(512)}"],
        ("revoked._domainkey.ed.test", "TXT"): ["v=DKIM1; k=rsa; p="],
        ("garbled._domainkey.ed.test", "TXT"): ["v=DKIM1; k=rsa; p=!!notbase64!!"],
        ("selector1._domainkey.ed.test", "CNAME"): ["selector1-ed-test._domainkey.tenant.example."],
        ("selector1-ed-test._domainkey.tenant.example", "TXT"): [f"v=DKIM1; k=rsa; p={rsa_key(1024)}"],
        ("nothing.test", "TXT"): ["some-verification=1"],
        ("two.test", "TXT"): ["v=spf1 include:spf.mail.qq.com ~all", "v=spf1 ip4:198.51.100.7 -all"],
        ("plusall.test", "TXT"): ["v=spf1 include:spf.mail.qq.com +all"],
        ("neutral.test", "TXT"): ["v=spf1 include:spf.mail.qq.com ?all"],
        ("noall.test", "TXT"): ["v=spf1 include:spf.mail.qq.com"],
        ("typo.test", "TXT"): ["v=spf1 include:spf.mail.qq.com ipv4:1.2.3.4 ~all"],
        ("badip.test", "TXT"): ["v=spf1 ip4:300.1.2.3 ~all"],
        ("other.test", "TXT"): ["v=spf1 include:spf.other.example ~all"],
        ("spf.other.example", "TXT"): ["v=spf1 ip4:192.0.2.1 -all"],
        ("deadinclude.test", "TXT"): ["v=spf1 include:gone.example ~all"],
        ("none.test", "TXT"): ["v=spf1 -all"],
        ("_dmarc.none.test", "TXT"): ["v=DMARC1; p=none"],
        ("_dmarc.twodmarc.test", "TXT"): ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
        ("_dmarc.badp.test", "TXT"): ["v=DMARC1; p=block; rua=mailto:x@badp.test"],
        ("_dmarc.badalign.test", "TXT"): ["v=DMARC1; p=reject; rua=mailto:x@badalign.test; aspf=x"],
        ("nullmx.test", "MX"): ["0 ."],
        ("elsewhere.test", "MX"): ["10 mx.zoho.com."],
    }
    # 11 DNS-querying terms over an include tree: over the limit of 10
    z[("many.test", "TXT")] = ["v=spf1 a mx include:chain1.example ~all"]
    z[("chain1.example", "TXT")] = ["v=spf1 a mx ptr include:chain2.example -all"]
    z[("chain2.example", "TXT")] = ["v=spf1 a mx exists:x.example include:spf.mail.qq.com -all"]
    z[("loop.test", "TXT")] = ["v=spf1 include:loop.test ~all"]
    return z


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDns]:
    with FakeDns(zone(), servfail={"broken.test", "_dmarc.broken.test"}) as fake:
        yield fake


@pytest.fixture
def client(server: FakeDns) -> Dns:
    return Dns({"MAILROOM_DNS": server.address}, timeout=2)


def statuses(checks: list[Check] | Iterator[Check]) -> list[tuple[str, str]]:
    return [(c.name, c.status) for c in checks]


def only(checks: Iterator[Check], name: str) -> Check:
    found = [c for c in checks if c.name == name]
    assert len(found) == 1, found
    return found[0]


# ── MX ──

def test_mx_present(client: Dns) -> None:
    check = check_mx(client, "good.test", EXMAIL)
    assert (check.status, check.detail) == ("ok", "5 mxbiz1.qq.com, 10 mxbiz2.qq.com")


def test_mx_missing_names_the_providers_records(client: Dns) -> None:
    check = check_mx(client, "nothing.test", EXMAIL)
    assert check.status == "fail"
    assert check.fix == "publish: @ MX 5 mxbiz1.qq.com.; @ MX 10 mxbiz2.qq.com."


def test_null_mx_and_foreign_mx(client: Dns) -> None:
    assert check_mx(client, "nullmx.test", []).status == "fail"
    other = check_mx(client, "elsewhere.test", EXMAIL)
    assert other.status == "warn" and "腾讯企业邮" in other.detail and "mxbiz1.qq.com." in other.fix


# ── SPF ──

def test_spf_good(client: Dns) -> None:
    checks = list(check_spf(client, "good.test", EXMAIL))
    assert statuses(checks) == [("good.test SPF", "ok"), ("good.test SPF lookups", "ok")]
    assert checks[1].detail == "1 DNS lookups (limit 10)"


def test_spf_missing_gives_the_record_with_the_providers_include(client: Dns) -> None:
    (check,) = check_spf(client, "nothing.test", EXMAIL)
    assert check.status == "fail"
    assert check.fix == 'publish: @ TXT "v=spf1 include:spf.mail.qq.com ~all"'


def test_spf_two_records_are_merged_into_one(client: Dns) -> None:
    (check,) = check_spf(client, "two.test", EXMAIL)
    assert check.status == "fail" and "2 SPF records" in check.detail
    assert check.fix == 'replace them with one: @ TXT "v=spf1 include:spf.mail.qq.com ip4:198.51.100.7 ~all"'


@pytest.mark.parametrize(
    ("domain", "status", "fix"),
    [
        ("plusall.test", "fail", 'publish: @ TXT "v=spf1 include:spf.mail.qq.com ~all"'),
        ("neutral.test", "warn", 'publish: @ TXT "v=spf1 include:spf.mail.qq.com ~all" (or -all)'),
        ("noall.test", "warn", 'publish: @ TXT "v=spf1 include:spf.mail.qq.com ~all"'),
    ],
)
def test_spf_all_qualifiers(client: Dns, domain: str, status: str, fix: str) -> None:
    check = list(check_spf(client, domain, EXMAIL))[0]
    assert (check.status, check.fix) == (status, fix)


def test_spf_syntax_errors(client: Dns) -> None:
    (check,) = check_spf(client, "typo.test", EXMAIL)
    assert check.status == "fail" and "'ipv4:1.2.3.4' is not an SPF mechanism" in check.detail
    (check,) = check_spf(client, "badip.test", EXMAIL)
    assert check.status == "fail" and "'ip4:300.1.2.3' is not an IP address" in check.detail


def test_spf_over_ten_lookups(client: Dns) -> None:
    check = only(check_spf(client, "many.test", []), "many.test SPF lookups")
    assert check.status == "fail" and "11+ DNS lookups (limit 10)" in check.detail


def test_spf_include_loop_ends(client: Dns) -> None:
    checks = list(check_spf(client, "loop.test", []))
    assert ("loop.test SPF lookups", "ok") in statuses(checks)


def test_spf_include_without_record_fails(client: Dns) -> None:
    check = only(check_spf(client, "deadinclude.test", []), "deadinclude.test SPF lookups")
    assert check.status == "fail" and "gone.example has no SPF record" in check.detail


def test_spf_lacking_the_providers_include(client: Dns) -> None:
    check = only(check_spf(client, "other.test", EXMAIL), "other.test SPF exmail")
    assert check.status == "fail"
    assert check.fix == 'publish: @ TXT "v=spf1 include:spf.mail.qq.com include:spf.other.example ~all"'
    # a provider that nests spf.mail.qq.com one level down counts
    assert statuses(check_spf(client, "many.test", [])) == [
        ("many.test SPF", "ok"), ("many.test SPF lookups", "fail")]


def test_parse_spf_counts_lookups() -> None:
    record = parse_spf("v=spf1 a mx/24 ip4:1.2.3.4 include:x.example exists:%{i}.y.example redirect=z.example")
    assert record.lookups() == 5 and record.problems == []


# ── DKIM ──

def test_dkim_good_rsa_from_provider_defaults(client: Dns) -> None:
    checks = list(check_dkim(client, "good.test", EXMAIL, []))
    assert [(c.name, c.status, c.detail) for c in checks] == [("good.test DKIM s1", "ok", "RSA 2048 bits")]


def test_dkim_keys_by_configured_selector(client: Dns) -> None:
    checks = {c.name.rsplit(" ", 1)[1]: c for c in check_dkim(
        client, "ed.test", [], ["mail", "short", "revoked", "garbled", "selector1", "absent"])}
    assert checks["mail"].status == "ok" and "ed25519" in checks["mail"].detail
    assert checks["short"].status == "fail" and "512 bits" in checks["short"].detail
    assert checks["revoked"].status == "fail" and "revoked" in checks["revoked"].detail
    assert checks["garbled"].status == "fail" and "base64" in checks["garbled"].detail
    assert checks["selector1"].status == "ok" and "1024 bits" in checks["selector1"].detail  # via CNAME
    assert checks["absent"].status == "fail"
    assert checks["absent"].fix.endswith('absent._domainkey.ed.test TXT "v=DKIM1; k=rsa; '
                                         'p=<the public key from your mail provider>"')


def test_dkim_missing_under_usual_selectors_is_a_warning(client: Dns) -> None:
    (check,) = check_dkim(client, "nothing.test", EXMAIL, [])
    assert check.status == "warn" and "s1, default" in check.detail
    assert "s1._domainkey.nothing.test TXT" in check.fix and "dkim_selectors" in check.fix
    (check,) = check_dkim(client, "nothing.test", [], [])
    assert check.status == "warn" and "no DKIM selector known" in check.detail


# ── DMARC ──

def test_dmarc_good(client: Dns) -> None:
    assert statuses(check_dmarc(client, "good.test")) == [("good.test DMARC", "ok"), ("good.test DMARC reports", "ok")]
    assert next(check_dmarc(client, "good.test")).detail == "p=quarantine, alignment strict"


def test_dmarc_missing(client: Dns) -> None:
    (check,) = check_dmarc(client, "nothing.test")
    assert check.status == "fail"
    assert check.fix.startswith('publish: _dmarc.nothing.test TXT "v=DMARC1; p=none; rua=mailto:postmaster@nothing.test"')


def test_dmarc_p_none_and_no_rua(client: Dns) -> None:
    policy, reports = check_dmarc(client, "none.test")
    assert policy.status == "warn" and '"v=DMARC1; p=quarantine; rua=mailto:postmaster@none.test"' in policy.fix
    assert reports.status == "warn"
    assert reports.fix == 'publish: _dmarc.none.test TXT "v=DMARC1; p=none; rua=mailto:postmaster@none.test"'


@pytest.mark.parametrize(("domain", "words"), [("twodmarc.test", "2 DMARC records"), ("badp.test", "p=block"),
                                               ("badalign.test", "aspf=x")])
def test_dmarc_broken(client: Dns, domain: str, words: str) -> None:
    (check,) = check_dmarc(client, domain)
    assert check.status == "fail" and words in check.detail


# ── failures of DNS itself ──

def test_servfail_is_a_finding(client: Dns, server: FakeDns) -> None:
    check = check_mx(client, "broken.test", [])
    assert check.status == "fail" and f"{server.address} answered SERVFAIL for broken.test MX" == check.detail
    (dmarc,) = check_dmarc(client, "broken.test")
    assert dmarc.status == "fail" and "SERVFAIL" in dmarc.detail


def test_a_silent_nameserver_times_out_once_then_skips(tmp_path: Path) -> None:
    config = tmp_path / "mailroom.toml"
    config.write_text('[organization]\nname = "T"\ndomains = ["good.test", "ed.test"]\n'
                      '[[mailboxes]]\naddress = "inquiry@good.test"\n'
                      '[mailboxes.imap]\nprovider = "exmail"\nusername = "inquiry@good.test"\npassword_env = "X"\n')
    with FakeDns({}, silent=True) as dead:
        client = Dns({"MAILROOM_DNS": dead.address}, timeout=0.5)
        started = time.monotonic()
        checks = list(run_dns_checks(load_config(config), client))
        elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed  # one timeout, not one per record
    lines = [c.line() for c in checks]
    assert lines == [
        f"✗ good.test MX: {dead.address} did not answer within 0.5 s",
        f"✗ good.test not checked: SPF, DKIM s1, DKIM default, DMARC: {dead.address} did not answer within 0.5 s",
        f"✗ ed.test: not checked: {dead.address} did not answer within 0.5 s",
    ]
    assert len(dead.queries) == 1


def test_bad_nameserver_setting_is_one_line() -> None:
    client = Dns({"MAILROOM_DNS": "dns.example:53"})
    assert client.resolver is None and "no usable nameserver" in (client.dead or "")


def test_whole_domain_through_the_config(server: FakeDns, tmp_path: Path) -> None:
    config = tmp_path / "mailroom.toml"
    config.write_text('[organization]\nname = "T"\ndomains = ["good.test"]\n'
                      '[[mailboxes]]\naddress = "inquiry@good.test"\n'
                      '[mailboxes.imap]\nprovider = "exmail"\nusername = "inquiry@good.test"\npassword_env = "X"\n')
    checks = list(run_dns_checks(load_config(config), Dns({"MAILROOM_DNS": server.address}, timeout=2)))
    assert statuses(checks) == [
        ("good.test MX", "ok"), ("good.test SPF", "ok"), ("good.test SPF lookups", "ok"),
        ("good.test DKIM s1", "ok"), ("good.test DMARC", "ok"), ("good.test DMARC reports", "ok"),
    ]


def test_hostile_names_and_huge_include_lists_stay_bounded(tmp_path: Path) -> None:
    includes = " ".join(f"include:i{n}.example" for n in range(200))
    with FakeDns({("wide.test", "TXT"): [f"v=spf1 {includes} ~all"]}) as server:
        client = Dns({"MAILROOM_DNS": server.address}, timeout=2)
        checks = list(check_spf(client, "wide.test", EXMAIL))
        assert len(server.queries) <= 1 + 1 + 10  # the record, the first include, at most 10 provider look-ups
    assert ("wide.test SPF lookups", "fail") in statuses(checks)
    assert len(checks[0].detail) <= 162
    config = tmp_path / "mailroom.toml"
    config.write_text('[organization]\nname = "T"\ndomains = ["bad..name"]\ndkim_selectors = ["' + "x" * 70 + '"]\n'
                      '[[mailboxes]]\naddress = "a@bad..name"\n')
    with FakeDns({}) as server:
        rows = list(run_dns_checks(load_config(config), Dns({"MAILROOM_DNS": server.address}, timeout=2)))
    assert rows and all(r.status == "fail" and "\n" not in r.detail for r in rows)
