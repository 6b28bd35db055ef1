"""DNS sender authentication per organisation domain: MX, SPF, DKIM and DMARC (the guide's 三.1).

Each finding is one `Check` row; when a record is missing or wrong, `fix` holds the exact record to publish.
The nameserver is the system's, or `MAILROOM_DNS=HOST[:PORT]` (tests point it at a local server). A
timeout, SERVFAIL or refusal becomes a finding, never a traceback; after a timeout the remaining lookups
are skipped (a dead nameserver would otherwise cost one timeout per record).
"""

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import dns.exception
import dns.resolver

from bot.core.config import Config
from bot.doctor.model import Check, fail, ok, warn
from bot.mail.providers import PROVIDERS, Provider

AREA = "dns"
DNS_ENV = "MAILROOM_DNS"
TIMEOUT = 5.0
SPF_LOOKUP_LIMIT = 10
"""RFC 7208 4.6.4: more than 10 mechanisms that query DNS make SPF fail (permerror) at the receiver."""
_SKIPPED = "skipped: "
_MAX_QUERIES = 40
"""SPF includes are followed at most this many queries deep (a loop or a huge tree must not hang doctor)."""


@dataclass
class Lookup:
    records: list[str] = field(default_factory=list)
    missing: bool = False
    error: str | None = None


class Dns:
    """A resolver that turns every DNS failure into text, and stops asking a nameserver that timed out."""

    def __init__(self, env: Mapping[str, str] | None = None, *, timeout: float = TIMEOUT):
        env = os.environ if env is None else env
        self.spec = env.get(DNS_ENV, "").strip()
        self.dead: str | None = None
        self.queries = 0
        try:
            self.resolver = _resolver(self.spec, timeout)
        except (dns.exception.DNSException, ValueError, OSError) as exc:
            self.resolver = None
            self.dead = f"no usable nameserver ({self.spec or '/etc/resolv.conf'}: {exc})"

    @property
    def where(self) -> str:
        return self.spec or "the system nameserver"

    def lookup(self, name: str, rdtype: str) -> Lookup:
        if self.dead or self.resolver is None:
            return Lookup(error=f"{_SKIPPED}{self.dead}")
        self.queries += 1
        try:
            answer = self.resolver.resolve(name, rdtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return Lookup(missing=True)
        except dns.resolver.LifetimeTimeout:
            self.dead = f"{self.where} did not answer within {self.resolver.lifetime:g} s"
            return Lookup(error=self.dead)
        except dns.resolver.NoNameservers as exc:
            said = "SERVFAIL" if "SERVFAIL" in str(exc) else "REFUSED" if "REFUSED" in str(exc) else "an error"
            return Lookup(error=f"{self.where} answered {said} for {name} {rdtype}")
        except dns.exception.DNSException as exc:
            return Lookup(error=f"lookup of {name} {rdtype} failed: {exc}")
        if rdtype == "TXT":
            return Lookup([b"".join(r.strings).decode("utf-8", errors="replace") for r in answer])
        if rdtype == "MX":
            return Lookup([f"{r.preference} {r.exchange.to_text()}" for r in answer])
        return Lookup([r.to_text() for r in answer])


def _resolver(spec: str, timeout: float) -> dns.resolver.Resolver:
    if not spec:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        host, port = _host_port(spec)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def _host_port(spec: str) -> tuple[str, int]:
    """'127.0.0.1:5353', '[::1]:5353', '8.8.8.8' → (host, port)."""
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = rest.lstrip(":") or "53"
    elif spec.count(":") == 1:
        host, port = spec.split(":")
    else:
        host, port = spec, "53"
    ipaddress.ip_address(host)  # ValueError: MAILROOM_DNS must name an IP address
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port {port!r}")
    return host, int(port)


# ── which providers send for a domain ──────────────────────────────────────────────────────────────

def domain_providers(config: Config, domain: str) -> list[Provider]:
    """Providers of the IMAP accounts whose address is at this domain (they send its mail)."""
    found: dict[str, Provider] = {}
    accounts = [(m.address, m.imap) for m in config.mailboxes] + [(p.email, p.imap) for p in config.people]
    for address, imap in accounts:
        if imap is not None and imap.provider and address.rpartition("@")[2] == domain:
            found.setdefault(imap.provider, PROVIDERS[imap.provider])
    return list(found.values())


def run_dns_checks(config: Config, dns_client: Dns | None = None) -> Iterator[Check]:
    """Every check for every `[organization] domains` entry."""
    client = dns_client or Dns()
    if client.resolver is None:
        yield fail(AREA, "nameserver", client.dead or "no nameserver",
                   f"set {DNS_ENV}=IP[:PORT] or fix /etc/resolv.conf")
        return
    for domain in config.organization.domains:
        if client.dead:
            yield fail(AREA, domain, f"not checked: {client.dead}")
            continue
        providers = domain_providers(config, domain)
        rows = [check_mx(client, domain, providers), *check_spf(client, domain, providers),
                *check_dkim(client, domain, providers, list(config.organization.dkim_selectors)),
                *check_dmarc(client, domain)]
        skipped = [r for r in rows if r.detail.startswith(_SKIPPED)]
        yield from (r for r in rows if r not in skipped)
        if skipped:
            names = ", ".join(r.name.removeprefix(domain + " ") for r in skipped)
            yield fail(AREA, f"{domain} not checked", f"{names}: {client.dead}")


# ── MX ─────────────────────────────────────────────────────────────────────────────────────────────

def check_mx(client: Dns, domain: str, providers: list[Provider]) -> Check:
    name = f"{domain} MX"
    found = client.lookup(domain, "MX")
    if found.error:
        return fail(AREA, name, found.error)
    hosts = sorted(found.records, key=lambda r: int(r.split()[0]))
    if found.missing or not hosts:
        wanted = [mx for p in providers for mx in p.mx]
        records = "; ".join(f"@ MX {mx}" for mx in wanted) or "@ MX 10 <your provider's mail host>."
        return fail(AREA, name, "no MX record: mail to this domain cannot be delivered", f"publish: {records}")
    if hosts == ["0 ."]:
        return fail(AREA, name, "null MX (0 .): the domain says it receives no mail",
                    "replace it with your provider's MX records")
    listed = ", ".join(h.rstrip(".") for h in hosts)
    for provider in providers:
        suffixes = {mx.split()[1].rstrip(".").split(".", 1)[1] for mx in provider.mx}
        if suffixes and not any(h.split()[1].rstrip(".").endswith(tuple(suffixes)) for h in hosts):
            wanted = "; ".join(f"@ MX {mx}" for mx in provider.mx)
            return warn(AREA, name, f"{listed}: none is {provider.label}'s, which the mailboxes use",
                        f"if mail should arrive at {provider.label}, publish: {wanted}")
    return ok(AREA, name, listed)


# ── SPF ────────────────────────────────────────────────────────────────────────────────────────────

_SPF_START = re.compile(r"^v=spf1(\s|$)", re.IGNORECASE)
_DOMAIN_SPEC = r"[^\s/]+"
_MECHANISM = re.compile(
    r"^(?P<q>[-+~?]?)(?P<m>all|include:" + _DOMAIN_SPEC + r"|exists:" + _DOMAIN_SPEC
    + r"|a(:" + _DOMAIN_SPEC + r")?(/\d{1,2})?(//\d{1,3})?|mx(:" + _DOMAIN_SPEC + r")?(/\d{1,2})?(//\d{1,3})?"
    + r"|ptr(:" + _DOMAIN_SPEC + r")?|ip4:[0-9./]+|ip6:[0-9a-fA-F:./]+)$",
    re.IGNORECASE,
)
_MODIFIER = re.compile(r"^(?P<name>[a-zA-Z][a-zA-Z0-9_.-]*)=(?P<value>\S*)$")
_DNS_MECHANISMS = ("include", "a", "mx", "ptr", "exists")


@dataclass
class SpfRecord:
    terms: list[str]
    problems: list[str]

    @property
    def all_term(self) -> str | None:
        return next((t for t in self.terms if t.lower().lstrip("+-~?") == "all"), None)

    @property
    def redirect(self) -> str | None:
        return next((t.split("=", 1)[1] for t in self.terms if t.lower().startswith("redirect=")), None)

    def targets(self) -> list[str]:
        """Domains this record makes the receiver read SPF from (include: and redirect=)."""
        found = [t.split(":", 1)[1] for t in self.terms if t.lower().lstrip("+-~?").startswith("include:")]
        return found + ([self.redirect] if self.redirect else [])

    def lookups(self) -> int:
        count = 0
        for term in self.terms:
            word = re.split(r"[:/=]", term.lower().lstrip("+-~?"), maxsplit=1)[0]
            count += word in _DNS_MECHANISMS or word == "redirect"
        return count


def parse_spf(text: str) -> SpfRecord:
    terms = text.split()[1:]
    problems: list[str] = []
    for term in terms:
        if _MECHANISM.match(term):
            if term.lower().lstrip("+-~?").startswith(("ip4:", "ip6:")):
                try:
                    ipaddress.ip_network(term.split(":", 1)[1], strict=False)
                except ValueError:
                    problems.append(f"{term!r} is not an IP address or network")
        elif not _MODIFIER.match(term):
            problems.append(f"{term!r} is not an SPF mechanism or modifier")
    return SpfRecord(terms, problems)


def _spf_records(found: Lookup) -> list[str]:
    return [r.strip() for r in found.records if _SPF_START.match(r.strip())]


def check_spf(client: Dns, domain: str, providers: list[Provider]) -> Iterator[Check]:
    name = f"{domain} SPF"
    includes = [f"include:{p.spf_include}" for p in providers if p.spf_include]
    suggested = "v=spf1 " + " ".join([*includes, "~all"]) if includes else "v=spf1 include:<your provider's SPF> ~all"
    found = client.lookup(domain, "TXT")
    if found.error:
        yield fail(AREA, name, found.error)
        return
    records = _spf_records(found)
    if not records:
        yield fail(AREA, name, "no SPF record: receivers cannot tell your servers from forgers",
                   f'publish: @ TXT "{suggested}"')
        return
    if len(records) > 1:
        merged = _merge(records)
        yield fail(AREA, name, f"{len(records)} SPF records (receivers then fail SPF: permerror)",
                   f'replace them with one: @ TXT "{merged}"')
        return
    text = records[0]
    record = parse_spf(text)
    if record.problems:
        yield fail(AREA, name, f"syntax error: {record.problems[0]} in \"{text}\"",
                   f'publish instead: @ TXT "{suggested}"')
        return
    all_term = record.all_term
    if all_term is None and record.redirect is None:
        yield warn(AREA, name, f'"{text}" has no all: mail from elsewhere is treated as neutral',
                   f'publish: @ TXT "{text} ~all"')
    elif all_term is not None and all_term.lower() in ("all", "+all"):
        yield fail(AREA, name, f'"{text}" ends in {all_term}: anyone may send as {domain}',
                   f'publish: @ TXT "{_with_all(text, "~all")}"')
    elif all_term is not None and all_term.lower() == "?all":
        yield warn(AREA, name, f'"{text}" ends in ?all (neutral): forged mail is not flagged',
                   f'publish: @ TXT "{_with_all(text, "~all")}" (or -all)')
    else:
        yield ok(AREA, name, f'"{text}"')
    yield _spf_lookups(client, name, domain, record)
    seen = _included(client, record)
    for provider in providers:
        if provider.spf_include and provider.spf_include not in seen:
            fixed = _with_include(text, provider.spf_include)
            yield fail(AREA, f"{domain} SPF {provider.name}",
                       f"SPF does not include {provider.spf_include}: mail sent by {provider.label} fails SPF",
                       f'publish: @ TXT "{fixed}"')


def _spf_lookups(client: Dns, name: str, domain: str, record: SpfRecord) -> Check:
    """Count DNS-querying terms over the whole include tree (RFC 7208: at most 10)."""
    total = record.lookups()
    pending = list(record.targets())
    visited: set[str] = set()
    queries = 0
    while pending:
        target = pending.pop(0).lower().rstrip(".")
        if target in visited or "%{" in target:
            continue
        visited.add(target)
        queries += 1
        if queries > _MAX_QUERIES or total > SPF_LOOKUP_LIMIT:
            break
        found = client.lookup(target, "TXT")
        if found.error:
            return warn(AREA, f"{name} lookups", f"could not count DNS lookups: {found.error}")
        records = _spf_records(found)
        if len(records) != 1:
            what = "has no SPF record" if not records else f"has {len(records)} SPF records"
            return fail(AREA, f"{name} lookups", f"include {target} {what}: receivers fail SPF (permerror)",
                        f"remove include:{target} from the {domain} SPF record, or fix {target}")
        sub = parse_spf(records[0])
        total += sub.lookups()
        pending.extend(sub.targets())
    if total > SPF_LOOKUP_LIMIT:
        return fail(AREA, f"{name} lookups",
                    f"{total}+ DNS lookups (limit {SPF_LOOKUP_LIMIT}): receivers fail SPF (permerror)",
                    "drop includes of services that no longer send for you, or replace a/mx/ptr with ip4:")
    return ok(AREA, f"{name} lookups", f"{total} DNS lookups (limit {SPF_LOOKUP_LIMIT})")


def _included(client: Dns, record: SpfRecord) -> set[str]:
    """Domains reached through include:/redirect= (one level deeper too: providers nest their own)."""
    seen = {t.lower().rstrip(".") for t in record.targets()}
    for target in list(seen):
        found = client.lookup(target, "TXT") if not client.dead else Lookup()
        for text in _spf_records(found):
            seen |= {t.lower().rstrip(".") for t in parse_spf(text).targets()}
    return seen


def _with_all(text: str, new_all: str) -> str:
    terms = [t for t in text.split() if t.lower().lstrip("+-~?") != "all"]
    return " ".join([*terms, new_all])


def _with_include(text: str, include: str) -> str:
    terms = text.split()
    return " ".join([terms[0], f"include:{include}", *terms[1:]])


def _merge(records: list[str]) -> str:
    terms: list[str] = []
    for text in records:
        for term in text.split()[1:]:
            bare = term.lower().lstrip("+-~?")
            if bare != "all" and not bare.startswith("redirect=") and term not in terms:
                terms.append(term)
    return " ".join(["v=spf1", *terms, "~all"])


# ── DKIM ───────────────────────────────────────────────────────────────────────────────────────────

def check_dkim(client: Dns, domain: str, providers: list[Provider], selectors: list[str]) -> Iterator[Check]:
    configured = bool(selectors)
    if not configured:
        selectors = list(dict.fromkeys(s for p in providers for s in p.dkim_selectors))
    if not selectors:
        yield warn(AREA, f"{domain} DKIM", "no DKIM selector known (no IMAP provider set for this domain)",
                   'set [organization] dkim_selectors = ["SELECTOR"] (your mail console shows it)')
        return
    rows: list[Check] = []
    missing: list[str] = []
    for selector in selectors:
        name = f"{domain} DKIM {selector}"
        host = f"{selector}._domainkey.{domain}"
        found = client.lookup(host, "TXT")
        if found.error:
            rows.append(fail(AREA, name, found.error))
            continue
        keys = [r for r in found.records if "p=" in r.replace(" ", "")]
        if found.missing or not keys:
            missing.append(selector)
            continue
        rows.append(_dkim_key(name, host, keys[0]))
    console = " / ".join(p.label for p in providers) or "your mail provider"
    template = '{host} TXT "v=DKIM1; k=rsa; p=<the public key from ' + console + '>"'
    if configured:
        for selector in missing:
            host = f"{selector}._domainkey.{domain}"
            rows.append(fail(AREA, f"{domain} DKIM {selector}", f"no DKIM key at {host}",
                             f"turn on DKIM in {console} and publish: " + template.format(host=host)))
    elif missing and not rows:
        tried = ", ".join(missing)
        host = f"{missing[0]}._domainkey.{domain}"
        rows.append(warn(AREA, f"{domain} DKIM", f"no DKIM key under the usual selectors ({tried})",
                         f"turn on DKIM in {console}, publish the record it shows (e.g. "
                         + template.format(host=host) + "), and set [organization] dkim_selectors"))
    yield from rows


def _dkim_key(name: str, host: str, text: str) -> Check:
    tags = _tags(text)
    key_type = tags.get("k", "rsa").lower()
    data = re.sub(r"\s+", "", tags.get("p", ""))
    if not data:
        return fail(AREA, name, f"the key at {host} is revoked (empty p=)", "publish the current key from the console")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return fail(AREA, name, f"p= at {host} is not base64", "copy the record again from the mail console")
    if key_type == "ed25519":
        if len(raw) != 32:
            return fail(AREA, name, f"ed25519 key at {host} is {len(raw)} bytes, not 32", "copy the record again")
        return ok(AREA, name, "ed25519 key (receivers without ed25519 support also need an RSA selector)")
    if key_type != "rsa":
        return fail(AREA, name, f"unknown key type k={key_type} at {host}", "use k=rsa (2048 bits) or k=ed25519")
    bits = _rsa_bits(raw)
    if bits is None:
        return fail(AREA, name, f"p= at {host} is not an RSA public key", "copy the record again from the mail console")
    if bits < 1024:
        return fail(AREA, name, f"RSA key of {bits} bits: receivers ignore keys under 1024 bits",
                    "generate a 2048-bit key in the mail console and publish its record")
    if bits < 2048:
        return ok(AREA, name, f"RSA {bits} bits (2048 is the current advice)")
    return ok(AREA, name, f"RSA {bits} bits")


def _rsa_bits(raw: bytes) -> int | None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    try:  # SubjectPublicKeyInfo, or the bare PKCS#1 RSAPublicKey some consoles publish
        key = load_der_public_key(raw)
    except (ValueError, TypeError):
        return None
    return key.key_size if isinstance(key, rsa.RSAPublicKey) else None


def _tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


# ── DMARC ──────────────────────────────────────────────────────────────────────────────────────────

def check_dmarc(client: Dns, domain: str) -> Iterator[Check]:
    name = f"{domain} DMARC"
    host = f"_dmarc.{domain}"
    rua = f"mailto:postmaster@{domain}"
    suggested = f'{host} TXT "v=DMARC1; p=none; rua={rua}"'
    found = client.lookup(host, "TXT")
    if found.error:
        yield fail(AREA, name, found.error)
        return
    records = [r.strip() for r in found.records if re.match(r"^v\s*=\s*DMARC1\s*(;|$)", r.strip(), re.IGNORECASE)]
    if not records:
        yield fail(AREA, name, "no DMARC record: receivers get no policy and you get no reports",
                   f"publish: {suggested} (then move to p=quarantine when the reports are clean)")
        return
    if len(records) > 1:
        yield fail(AREA, name, f"{len(records)} DMARC records: receivers ignore them all",
                   f"keep one: {suggested}")
        return
    text = records[0]
    tags = _tags(text)
    policy = tags.get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        shown = f"p={policy}" if policy else "no p= tag"
        yield fail(AREA, name, f'"{text}": {shown} (must be none, quarantine or reject)',
                   f'publish: {host} TXT "{_with_tag(text, "p", "none")}"')
        return
    bad_alignment = [f"{k}={tags[k]}" for k in ("adkim", "aspf") if k in tags and tags[k].lower() not in ("r", "s")]
    if bad_alignment:
        yield fail(AREA, name, f'"{text}": {", ".join(bad_alignment)} (alignment is r or s)',
                   f'publish: {host} TXT "{_without(text, ("adkim", "aspf"))}"')
        return
    alignment = "strict" if "s" in (tags.get("adkim", "r").lower(), tags.get("aspf", "r").lower()) else "relaxed"
    with_rua = text if tags.get("rua") else _with_tag(text, "rua", rua)
    if policy == "none":
        yield warn(AREA, name, f'"{text}": p=none only monitors; forged mail is still delivered',
                   f'once the rua reports show only your own servers, publish: {host} TXT '
                   f'"{_with_tag(with_rua, "p", "quarantine")}"')
    else:
        pct = tags.get("pct", "100")
        share = f", applied to {pct}% of mail" if pct != "100" else ""
        yield ok(AREA, name, f"p={policy}, alignment {alignment}{share}")
    if "rua" not in tags or not tags["rua"]:
        yield warn(AREA, f"{name} reports", "no rua=: nobody receives the aggregate reports",
                   f'publish: {host} TXT "{_with_tag(text, "rua", rua)}"')
    else:
        yield ok(AREA, f"{name} reports", f"aggregate reports to {tags['rua']}")


def _with_tag(text: str, key: str, value: str) -> str:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    replaced = False
    for i, part in enumerate(parts):
        if part.partition("=")[0].strip().lower() == key:
            parts[i] = f"{key}={value}"
            replaced = True
    if not replaced:
        parts.insert(2 if key == "rua" else 1, f"{key}={value}")
    return "; ".join(parts)


def _without(text: str, keys: tuple[str, ...]) -> str:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    return "; ".join(p for p in parts if p.partition("=")[0].strip().lower() not in keys)

