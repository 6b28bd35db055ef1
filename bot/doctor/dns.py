"""DNS sender authentication per organisation domain: MX, SPF, DKIM and DMARC (the guide's 三.1).

Each finding is one `Check` row; when a record is missing or wrong, `fix` holds the exact record to publish.
The nameserver is the system's, or `MAILROOM_DNS=HOST[:PORT]` (tests point it at a local server). A
timeout, SERVFAIL or refusal becomes a finding, never a traceback; after a timeout the remaining lookups
are skipped (a dead nameserver would otherwise cost one timeout per record).
"""

from collections.abc import Iterator

from bot.core.config import Config
from bot.doctor.dkim_dmarc import check_dkim, check_dmarc
from bot.doctor.model import Check, fail, ok, warn
from bot.doctor.resolver import AREA, DNS_ENV, SKIPPED, Dns
from bot.doctor.spf import check_spf, parse_spf
from bot.mail.providers import PROVIDERS, Provider

__all__ = ["Dns", "check_dkim", "check_dmarc", "check_mx", "check_spf", "domain_providers", "parse_spf",
           "run_dns_checks"]


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
        skipped = [r for r in rows if r.detail.startswith(SKIPPED)]
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
            theirs = "; ".join(f"@ MX {mx}" for mx in provider.mx)
            return warn(AREA, name, f"{listed}: none is {provider.label}'s, which the mailboxes use",
                        f"if mail should arrive at {provider.label}, publish: {theirs}")
    return ok(AREA, name, listed)
