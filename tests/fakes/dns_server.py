"""A small DNS server on 127.0.0.1 for the doctor's DNS tests (dnslib for the wire format).

    with FakeDns({("example.com", "TXT"): ["v=spf1 -all"]}) as server:
        env = {"MAILROOM_DNS": server.address}      # '127.0.0.1:PORT'

Answers from a dict {(name, type): [values]}: TXT values are split into 255-byte strings as real zones do,
MX values are "PRIORITY HOST.", a CNAME is followed within the zone. A name in `servfail` answers SERVFAIL;
`silent=True` reads queries and never answers (a dead nameserver). Unknown names get NXDOMAIN. The server
runs in a daemon thread, records the queries it saw, and stops on its own after `idle` seconds without one.
"""

import socket
import threading
import time
from types import TracebackType

from dnslib import CNAME, MX, QTYPE, RCODE, RR, TXT, DNSRecord

Zone = dict[tuple[str, str], list[str]]


def _key(name: str) -> str:
    return name.lower().rstrip(".")


class FakeDns:
    def __init__(self, zone: Zone, *, servfail: set[str] | None = None, silent: bool = False,
                 idle: float = 60.0):
        self.zone = {(_key(n), t.upper()): v for (n, t), v in zone.items()}
        self.servfail = {_key(n) for n in servfail or set()}
        self.silent = silent
        self.idle = idle
        self.queries: list[tuple[str, str]] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"fake-dns-{self.port}", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "FakeDns":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()

    def __enter__(self) -> "FakeDns":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _serve(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set() and time.monotonic() - last < self.idle:
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            last = time.monotonic()
            try:
                request = DNSRecord.parse(data)
            except Exception:  # noqa: BLE001 - garbage on the port: ignore it like a real server
                continue
            name, qtype = _key(str(request.q.qname)), QTYPE[request.q.qtype]
            self.queries.append((name, qtype))
            if self.silent:
                continue
            self._sock.sendto(self._answer(request, name, qtype).pack(), peer)

    def _answer(self, request: DNSRecord, name: str, qtype: str) -> DNSRecord:
        reply = request.reply()
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        seen = 0
        while (name, "CNAME") in self.zone and qtype != "CNAME" and seen < 8:
            target = self.zone[(name, "CNAME")][0]
            reply.add_answer(RR(request.q.qname if not seen else name, QTYPE.CNAME, rdata=CNAME(target), ttl=60))
            name, seen = _key(target), seen + 1
        values = self.zone.get((name, qtype))
        if values is None:
            if not any(n == name for n, _ in self.zone) and not seen:
                reply.header.rcode = RCODE.NXDOMAIN
            return reply
        for value in values:
            reply.add_answer(RR(name + ".", getattr(QTYPE, qtype), rdata=_rdata(qtype, value), ttl=60))
        return reply


def _rdata(qtype: str, value: str) -> TXT | MX:
    if qtype == "TXT":
        raw = value.encode()
        return TXT([raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""])
    if qtype == "MX":
        priority, host = value.split()
        return MX(host, int(priority))
    raise ValueError(f"FakeDns serves TXT, MX and CNAME only, not {qtype}")


def good_zone(domain: str) -> Zone:
    """Sender authentication done right for `domain` (MX, one SPF with ~all, DMARC quarantine with rua);
    DKIM is left to the test, since its selector depends on the provider."""
    return {
        (domain, "MX"): ["10 mx.mail.example."],
        (domain, "TXT"): ["v=spf1 ip4:192.0.2.0/24 ~all"],
        (f"_dmarc.{domain}", "TXT"): [f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"],
    }
