"""Who is who: people, teams, mailboxes, aliases and groups, looked up from the config."""

from functools import cached_property

from bot.core.config import Config, Mailbox, Person, Team
from bot.core.crm import people_by_name

FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
    "yahoo.co.uk", "yahoo.co.jp", "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com", "gmx.de",
    "gmx.net", "gmx.com", "web.de", "mail.ru", "yandex.ru", "yandex.com", "protonmail.com", "proton.me",
    "zoho.com", "mail.com", "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn",
    "sohu.com", "139.com", "189.cn", "aliyun.com", "naver.com", "daum.net", "hanmail.net", "libero.it",
    "orange.fr", "free.fr", "wanadoo.fr", "t-online.de", "rediffmail.com",
})


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


class Directory:
    """Read-only lookups over the config, built once per process."""

    def __init__(self, config: Config):
        self.config = config
        self.org_domains = frozenset(config.organization.domains)
        self.free_mail = FREE_MAIL_DOMAINS | set(config.customers.free_mail_domains)

    @cached_property
    def people(self) -> dict[str, Person]:
        return {p.id: p for p in self.config.people}

    @cached_property
    def teams(self) -> dict[str, Team]:
        return {t.id: t for t in self.config.teams}

    @cached_property
    def mailboxes(self) -> dict[str, Mailbox]:
        return {m.address: m for m in self.config.mailboxes}

    @cached_property
    def alias_targets(self) -> dict[str, str]:
        return {a.address: a.target for a in self.config.aliases}

    @cached_property
    def _people_by_email(self) -> dict[str, Person]:
        return {p.email: p for p in self.config.people}

    def is_org_address(self, address: str) -> bool:
        return domain_of(address) in self.org_domains

    def mailbox_for(self, address: str) -> tuple[str, str | None] | None:
        """The shared mailbox an address delivers to, and the alias used (rma@ → support@, 'rma@…')."""
        address = address.lower()
        if address in self.mailboxes:
            return address, None
        target = self.alias_targets.get(address)
        if target:
            return target, address
        return None

    def mailbox_by_name(self, name: str) -> Mailbox | None:
        """'order', 'order@' or 'order@factory.com' → the mailbox."""
        name = name.lower().rstrip("@")
        for mailbox in self.config.mailboxes:
            if name in (mailbox.address, mailbox.local_part, mailbox.role):
                return mailbox
        target = self.mailbox_for(name)
        return self.mailboxes[target[0]] if target else None

    def person_by_email(self, address: str) -> Person | None:
        return self._people_by_email.get(address.lower())

    def person_by_chat(self, platform: str, user_id: str | int) -> Person | None:
        for person in self.config.people:
            value = getattr(person, platform, None)
            if value is not None and str(value) == str(user_id):
                return person
        return None

    def find_person(self, text: str) -> Person | None:
        """By id, e-mail, chat mention (@amy, <@U123>) or exact name, case-insensitively."""
        key = text.strip().strip("<>").lstrip("@").lower()
        if not key:
            return None
        return self.by_name.get(key) or next(
            (p for p in self.config.people if p.slack and key == p.slack.lower()), None)

    @cached_property
    def by_name(self) -> dict[str, Person]:
        """Each person by id, e-mail, display name and mailbox name, lower-cased (bot.core.crm.people_by_name)."""
        return people_by_name(self.config.people)

    def members_of(self, team_id: str) -> list[Person]:
        return [p for p in self.config.people if team_id in p.teams]

    def admins(self) -> list[Person]:
        return [p for p in self.config.people if p.role == "admin"]
