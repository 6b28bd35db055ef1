"""SPF: exactly one record, valid syntax, at most 10 DNS lookups over its include tree, a strict enough
`all`, and the include of the provider that sends the domain's mail."""

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bot.doctor.model import Check, clip, fail, ok, warn
from bot.doctor.resolver import AREA, Dns, Lookup
from bot.mail.providers import Provider

SPF_LOOKUP_LIMIT = 10
"""RFC 7208 4.6.4: more than 10 mechanisms that query DNS make SPF fail (permerror) at the receiver."""
_MAX_QUERIES = 40
"""SPF includes are followed at most this many queries deep (a loop or a huge tree must not hang doctor)."""

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
        yield fail(AREA, name, f"syntax error: {record.problems[0]} in \"{clip(text)}\"",
                   f'publish instead: @ TXT "{suggested}"')
        return
    all_term = record.all_term
    if all_term is None and record.redirect is None:
        yield warn(AREA, name, f'"{clip(text)}" has no all: mail from elsewhere is treated as neutral',
                   f'publish: @ TXT "{text} ~all"')
    elif all_term is not None and all_term.lower() in ("all", "+all"):
        yield fail(AREA, name, f'"{clip(text)}" ends in {all_term}: anyone may send as {domain}',
                   f'publish: @ TXT "{_with_all(text, "~all")}"')
    elif all_term is not None and all_term.lower() == "?all":
        yield warn(AREA, name, f'"{clip(text)}" ends in ?all (neutral): forged mail is not flagged',
                   f'publish: @ TXT "{_with_all(text, "~all")}" (or -all)')
    else:
        yield ok(AREA, name, f'"{clip(text)}"')
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
    for target in sorted(seen)[:SPF_LOOKUP_LIMIT]:  # more would fail the lookup limit anyway
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
