"""DKIM (a usable key per selector: RSA of at least 1024 bits, or ed25519) and DMARC (one record, a valid
policy — p=none only monitors —, aggregate reports, alignment)."""

import base64
import binascii
import re
from collections.abc import Iterator

from bot.doctor.model import Check, clip, fail, ok, warn
from bot.doctor.resolver import AREA, Dns
from bot.mail.providers import Provider


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
        yield fail(AREA, name, f'"{clip(text)}": {shown} (must be none, quarantine or reject)',
                   f'publish: {host} TXT "{_with_tag(text, "p", "none")}"')
        return
    bad_alignment = [f"{k}={tags[k]}" for k in ("adkim", "aspf") if k in tags and tags[k].lower() not in ("r", "s")]
    if bad_alignment:
        yield fail(AREA, name, f'"{clip(text)}": {", ".join(bad_alignment)} (alignment is r or s)',
                   f'publish: {host} TXT "{_without(text, ("adkim", "aspf"))}"')
        return
    alignment = "strict" if "s" in (tags.get("adkim", "r").lower(), tags.get("aspf", "r").lower()) else "relaxed"
    with_rua = text if tags.get("rua") else _with_tag(text, "rua", rua)
    if policy == "none":
        yield warn(AREA, name, f'"{clip(text)}": p=none only monitors; forged mail is still delivered',
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
