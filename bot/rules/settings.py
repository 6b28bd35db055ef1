"""`[rules.*]` in the config: validated here (the Config model keeps `rules` free-form), resolved
against the directory once, and reported as `FILE: rules.cc.X: problem` lines through ConfigError.

```toml
[rules]
subject_convention = "new_threads"   # or "quotations" | "all_outbound" | "off": which of our mails the
                                     # [RFQ]-Customer-Product-Date subject applies to (never a reply
                                     # that keeps the customer's subject)

[rules.categories]
keywords = { exception = ["force majeure", "不可抗力"] }   # extra keywords per category
example_score = 85                                      # how close a corrected subject must be to count

[rules.cc.milestones]                                   # milestone → mailboxes it must CC
complaint_conclusion = ["support", "audit"]             # a list inside the list = any one of them
shipping_documents = [["shipping", "order"]]

[rules.naming]
products = ["Ball Valve", "球阀"]                        # product names used in suggestions

[rules.routing]
claim_timeout = "4h"
people_before_team = 2
[[rules.routing.rules]]
country = ["DE", "AT", "CH"]
person = "amy"

[rules.pool]
pool_after_days = 30
warn_days = 3
needs_approval = false
```
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.core.config import Config, Duration
from bot.core.directory import Directory
from bot.core.errors import ConfigError

ORDER_CATEGORIES = ("po", "delivery", "shipping", "exception")
SUPPORT_CATEGORIES = ("rma", "complaint", "spare")
MILESTONES = (
    "quotation", "sample_confirmation", "payment_terms", "po_confirmation", "delivery_change", "loading_plan",
    "shipping_documents", "complaint_conclusion",
)
DEFAULT_CC: dict[str, list[str | list[str]]] = {
    "quotation": ["inquiry"],
    "sample_confirmation": ["inquiry"],
    "payment_terms": ["inquiry"],
    "po_confirmation": ["order"],
    "delivery_change": ["order"],
    "loading_plan": ["order"],
    "shipping_documents": [["shipping", "order"]],
    "complaint_conclusion": ["support", "audit"],
}
"""The guide's rule: key milestone mails CC the matching shared mailbox (audit@ too for complaint conclusions)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CategorySettings(_Strict):
    enabled: bool = True
    keywords: dict[str, list[str]] = {}
    example_score: float = Field(85.0, ge=50, le=100)

    @field_validator("keywords")
    @classmethod
    def _known(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        known = ORDER_CATEGORIES + SUPPORT_CATEGORIES
        for name in value:
            if name not in known:
                raise ValueError(f"unknown category {name!r} (known: {', '.join(known)})")
        return value


class CcSettings(_Strict):
    enabled: bool = True
    milestones: dict[str, list[str | list[str]]] = {}
    keywords: dict[str, list[str]] = {}
    gaps: bool = True
    gap_grace: Duration = timedelta(minutes=30)
    """A CC gap is only told after this long: the message it names may still arrive by another mailbox."""

    @field_validator("milestones", "keywords")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if name not in MILESTONES:
                raise ValueError(f"unknown milestone {name!r} (known: {', '.join(MILESTONES)})")
        return value


class NamingSettings(_Strict):
    enabled: bool = True
    subject: bool = True
    quotation: bool = True
    products: list[str] = []
    date_format: str = "%Y%m%d"


class RoutingRule(_Strict):
    country: list[str] = []
    keywords: list[str] = []
    person: str | None = None
    people: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> "RoutingRule":
        if not self.country and not self.keywords:
            raise ValueError("a routing rule needs `country` or `keywords`")
        if not self.person and not self.people:
            raise ValueError("a routing rule needs `person` or `people`")
        self.country = [c.strip().upper() for c in self.country]
        return self

    @property
    def candidates(self) -> list[str]:
        return ([self.person] if self.person else []) + [p for p in self.people if p != self.person]


class RoutingSettings(_Strict):
    enabled: bool = True
    claim_timeout: Duration = timedelta(hours=4)
    people_before_team: int = Field(2, ge=1, le=20)
    max_age: Duration = timedelta(days=3)
    """Inquiries older than this when first seen (an import of old mail) are not routed."""
    people: dict[str, list[str]] = {}
    """Per team id, who takes part in the round robin (default: the team's members and leads)."""
    rules: list[RoutingRule] = []


class CollisionSettings(_Strict):
    enabled: bool = True
    teams: list[str] | None = None
    """Teams whose members own customers (default: the teams of the inquiry mailboxes)."""
    name_score: float = Field(88.0, ge=50, le=100)


class PoolSettings(_Strict):
    pool_after_days: int | None = Field(None, ge=1)
    warn_days: int = Field(3, ge=0)
    needs_approval: bool = False
    teams: list[str] | None = None
    """Owners in these teams can lose customers to the pool (default: the teams of the inquiry mailboxes)."""


class RulesModel(_Strict):
    subject_convention: Literal["new_threads", "quotations", "all_outbound", "off"] = "new_threads"
    """Which mail of ours the `[RFQ]-Customer-Product-Date` subject applies to (bot/rules/naming.py)."""
    categories: CategorySettings = CategorySettings()
    cc: CcSettings = CcSettings()
    naming: NamingSettings = NamingSettings()
    routing: RoutingSettings = RoutingSettings()
    collisions: CollisionSettings = CollisionSettings()
    pool: PoolSettings = PoolSettings()
    notify_max_age: Duration = timedelta(days=3)
    """Findings on mail older than this are recorded but never pushed to chat (imports of old mail)."""
    digest: bool = True


@dataclass
class Rules:
    """The validated settings, with mailbox names resolved to addresses and defaults filled in."""

    model: RulesModel
    required_cc: dict[str, list[tuple[str, ...]]]
    """milestone → requirements; each requirement is a tuple of mailbox addresses, any one of which will do."""
    owner_teams: list[str]
    order_mailboxes: list[str]
    support_mailboxes: list[str]
    inquiry_mailboxes: list[str]
    support_subtypes: dict[str, str] = field(default_factory=dict)
    """alias address → sub-type (its local part), for aliases of support mailboxes."""

    @property
    def categories(self) -> CategorySettings:
        return self.model.categories

    @property
    def cc(self) -> CcSettings:
        return self.model.cc

    @property
    def naming(self) -> NamingSettings:
        return self.model.naming

    @property
    def routing(self) -> RoutingSettings:
        return self.model.routing

    @property
    def collisions(self) -> CollisionSettings:
        return self.model.collisions

    @property
    def pool(self) -> PoolSettings:
        return self.model.pool

    def category_set(self, mailbox: str) -> tuple[str, ...]:
        if mailbox in self.order_mailboxes:
            return ORDER_CATEGORIES
        if mailbox in self.support_mailboxes:
            return tuple(dict.fromkeys([*SUPPORT_CATEGORIES, *self.support_subtypes.values()]))
        return ()


def load_rules(config: Config, directory: Directory) -> Rules:
    """Validate `config.rules`; every problem is one line naming the file and the key."""
    where = str(config.source) if config.source else "config"
    try:
        model = RulesModel.model_validate(config.rules or {})
    except ValidationError as exc:
        raise ConfigError([f"{where}: rules.{_loc(e['loc'])}: {_message(e)}" for e in exc.errors()]) from None
    problems: list[str] = []
    rules = _resolve(model, config, directory, problems)
    if problems:
        raise ConfigError([f"{where}: {p}" for p in problems])
    return rules


def _resolve(model: RulesModel, config: Config, directory: Directory, problems: list[str]) -> Rules:
    by_role: dict[str, list[str]] = {}
    for mailbox in config.mailboxes:
        by_role.setdefault(mailbox.role, []).append(mailbox.address)
    required: dict[str, list[tuple[str, ...]]] = {}
    for milestone in MILESTONES:
        given = model.cc.milestones.get(milestone)
        entries = given if given is not None else DEFAULT_CC[milestone]
        requirements: list[tuple[str, ...]] = []
        for i, entry in enumerate(entries):
            names = [entry] if isinstance(entry, str) else list(entry)
            addresses = []
            for j, name in enumerate(names):
                named = directory.mailbox_by_name(name)
                if named is None:
                    if given is not None:  # the defaults may name mailboxes an organisation does not have
                        key = f"rules.cc.milestones.{milestone}.{i}" + (f".{j}" if not isinstance(entry, str) else "")
                        problems.append(f"{key}: {name!r} is not a configured mailbox")
                    continue
                addresses.append(named.address)
            if addresses:
                requirements.append(tuple(dict.fromkeys(addresses)))
        required[milestone] = requirements
    inquiry_teams = [m.team for m in config.mailboxes if m.role == "inquiry" and m.team]
    people, teams = directory.people, directory.teams
    for section, chosen in (("collisions", model.collisions.teams), ("pool", model.pool.teams)):
        for i, team in enumerate(chosen or []):
            if team not in teams:
                problems.append(f"rules.{section}.teams.{i}: unknown team {team!r}")
    for team, members in model.routing.people.items():
        if team not in teams:
            problems.append(f"rules.routing.people.{team}: unknown team {team!r}")
        for j, person in enumerate(members):
            if person not in people:
                problems.append(f"rules.routing.people.{team}.{j}: unknown person {person!r}")
    for i, rule in enumerate(model.routing.rules):
        for person in rule.candidates:
            if person not in people:
                problems.append(f"rules.routing.rules.{i}: unknown person {person!r}")
    owner_teams = list(dict.fromkeys(model.collisions.teams or inquiry_teams))
    support = by_role.get("support", [])
    subtypes = {a.address: a.address.split("@", 1)[0] for a in config.aliases if a.target in support}
    return Rules(
        model=model,
        required_cc=required,
        owner_teams=owner_teams,
        order_mailboxes=by_role.get("order", []),
        support_mailboxes=support,
        inquiry_mailboxes=by_role.get("inquiry", []),
        support_subtypes=subtypes,
    )


def pool_teams(rules: Rules, config: Config) -> list[str]:
    inquiry_teams = [m.team for m in config.mailboxes if m.role == "inquiry" and m.team]
    return list(dict.fromkeys(rules.pool.teams or inquiry_teams))


def _loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _message(err: Any) -> str:
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "missing (required)"
    return message
