"""The DNS client of `mailroom doctor`: the system's nameserver or `MAILROOM_DNS=IP[:PORT]` (tests point it
at a local server). Every failure becomes text (timeout, SERVFAIL, REFUSED), never an exception; after a
timeout the nameserver is taken for dead and further lookups are skipped at once."""

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import dns.exception
import dns.resolver

AREA = "dns"
DNS_ENV = "MAILROOM_DNS"
TIMEOUT = 5.0
SKIPPED = "skipped: "


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
        self.resolver: dns.resolver.Resolver | None
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
            return Lookup(error=f"{SKIPPED}{self.dead}")
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
