"""MFA and login risk (the guide's 三.2): nothing Mailroom can see from outside, so each provider in use is
named once with the setting an admin turns on — a reminder, never a failure. A provider that refuses
password login altogether (Microsoft 365) is said plainly."""

from collections.abc import Iterator

from bot.core.config import Config
from bot.doctor.model import Check, ok, warn
from bot.mail.providers import PROVIDERS

AREA = "login"
WHO = "sales, finance and admin accounts"


def login_checks(config: Config) -> Iterator[Check]:
    accounts = [(m.address, m.imap) for m in config.mailboxes] + [(p.email, p.imap) for p in config.people]
    used: dict[str, list[str]] = {}
    with_password: dict[str, list[str]] = {}
    unnamed = 0
    for address, imap in accounts:
        if imap is None:
            continue
        if imap.provider:
            used.setdefault(imap.provider, []).append(address)
            if imap.oauth2 is None:
                with_password.setdefault(imap.provider, []).append(address)
        else:
            unnamed += 1
    for name in used:
        provider = PROVIDERS[name]
        yield ok(AREA, f"MFA {provider.label}", f"reminder: turn on MFA for {WHO}: {provider.mfa_setting}")
        addresses = with_password.get(name, [])
        if provider.basic_auth == "refused" and addresses:
            yield warn(AREA, f"login {provider.label}", f"{', '.join(addresses)}: {provider.login_rule}")
        elif provider.basic_auth == "app-password" and addresses:
            yield ok(AREA, f"login {provider.label}", f"reminder: {provider.login_rule}")
    if not used:
        yield ok(AREA, "MFA", f"reminder: turn on MFA (two-step login) for {WHO} in your mail admin console; "
                 "set [mailboxes.imap] provider to name the setting")
    elif unnamed:
        yield ok(AREA, "MFA other accounts", f"reminder: {unnamed} IMAP account(s) without provider: turn on MFA "
                 "there too")
