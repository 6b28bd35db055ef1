"""Plain language → a command and its argument text, in English and Chinese.

    "who owns acme?" / "whose is acme" / "acme 是谁的客户"      → owner acme
    "amy is away until 2026-12-01" / "li 请假到 2026-12-20"   → away amy until 2026-12-01
    "我明天请假" / "chen 出差到下周一，lucy 代班"               → away me until 2026-12-04 (backup lucy)
    "what's breached?" / "我的超时" / "哪些超时了"              → sla breached / sla mine / sla breached
    "把 chen 的客户交接给 lucy" / "hand over chen to lucy"      → handover chen lucy
    "分配 华通 给 lucy" / "assign acme to li"                   → assign 华通 lucy
    "find quotation" / "搜 发票" / "look for PO 4521"          → search …

The grammar is pure: text in, `Intent(command, args)` out — the argument text in the command's own slash
syntax, so `/away amy until 2026-12-01` and the sentence reach the handler the same way. Relative days
(tomorrow, 明天, 下周一, "3 天") are resolved against `today` (the organisation's local date), and a few
sentences need to know who the people are (`people`: lower-case ids and names) to tell "give acme to li"
(a customer: /assign) from "give chen's customers to lucy" (a person: /handover).

`normalize` runs first on every chat message: NFKC (full-width letters, digits, spaces, `／`, `？`) and a
Chinese IME's `、` typed for `/` at the start (`、owner acme` → `/owner acme`).
"""

import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, timedelta

MAX_TEXT = 2000
"""Longer messages are not sentences: they are not parsed (and are never echoed whole)."""


@dataclass(frozen=True)
class Intent:
    command: str
    args: str = ""

    def slash(self) -> str:
        return f"/{self.command} {self.args}".strip()


def normalize(text: str) -> str:
    """Full-width forms folded, IME slashes made slashes, whitespace runs made one space."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"^\s*[、\\]\s*(?=[A-Za-z])", "/", text)
    text = re.sub(r"^/\s+(?=[A-Za-z])", "/", text)
    return " ".join(text.split())


# ── dates ──────────────────────────────────────────────────────────────────────────────────────────

_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAYS_EN = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_MONTHS_EN = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                              "nov", "dec"))}
_ZH_NUM = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_EN_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "a": 1}

DATE = (
    r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号]?"
    r"|\d{1,2}月\d{1,2}[日号]?|\d{1,2}/\d{1,2}"
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"|今天|明天|明日|后天|大后天|today|tomorrow|(?:the\s+)?day\s+after\s+tomorrow"
    r"|(?:下下?|这|本)?(?:周|星期|礼拜)[一二三四五六日天末]"
    r"|(?:next|this|coming)\s+(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*day"
    r"|下周|next\s+week|月底|end\s+of\s+(?:the\s+)?month"
    r"|(?:for\s+)?(?:\d{1,3}|one|two|three|four|five|six|seven|ten|a)\s+(?:days?|weeks?)"
    r"|[\d一两二三四五六七八九十]{1,3}\s*(?:天|个?星期|周))"
)
_DATE_RE = re.compile(DATE, re.IGNORECASE)


def parse_day(text: str, today: date) -> date | None:
    """One day expression (see DATE) → the date it names; an absence 'for 3 days' ends on its third day."""
    t = text.strip().lower()
    if m := re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?", t):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{1,2})月(\d{1,2})[日号]?|(\d{1,2})/(\d{1,2})", t):
        month, day = (int(m[1]), int(m[2])) if m[1] else (int(m[3]), int(m[4]))
        return _upcoming(today, month, day)
    if m := re.fullmatch(r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?", t):
        return _upcoming(today, _MONTHS_EN.get(m[1], 0), int(m[2]))
    if m := re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*", t):
        return _upcoming(today, _MONTHS_EN.get(m[2], 0), int(m[1]))
    fixed = {"今天": 0, "today": 0, "明天": 1, "明日": 1, "tomorrow": 1, "后天": 2, "day after tomorrow": 2,
             "the day after tomorrow": 2, "大后天": 3}
    if t in fixed:
        return today + timedelta(days=fixed[t])
    if m := re.fullmatch(r"(下下|下|这|本)?(?:周|星期|礼拜)([一二三四五六日天末])", t):
        weeks = {"下下": 2, "下": 1}.get(m[1] or "", 0)
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)
        named = monday + timedelta(days=_WEEKDAYS_ZH[m[2]])
        return named if weeks or named >= today else named + timedelta(weeks=1)
    if m := re.fullmatch(r"(?:(next|this|coming)\s+)?(mon|tue|wed|thu|fri|sat|sun)[a-z]*", t):
        weekday = _WEEKDAYS_EN[m[2]]
        if m[1] == "next":
            return today - timedelta(days=today.weekday()) + timedelta(weeks=1, days=weekday)
        ahead = (weekday - today.weekday()) % 7
        return today + timedelta(days=ahead or 7)
    if t in ("下周", "next week"):
        return today - timedelta(days=today.weekday()) + timedelta(weeks=1, days=6)
    if t in ("月底", "end of month", "end of the month"):
        following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        return following - timedelta(days=1)
    if m := re.fullmatch(r"(?:for\s+)?(\d{1,3}|one|two|three|four|five|six|seven|ten|a)\s+(day|week)s?", t):
        count = int(m[1]) if m[1].isdigit() else _EN_NUM[m[1]]
        return today + timedelta(days=count * (7 if m[2] == "week" else 1) - 1)
    if m := re.fullmatch(r"([\d一两二三四五六七八九十]{1,3})\s*(天|个?星期|周)", t):
        count = int(m[1]) if m[1].isdigit() else _zh_number(m[1])
        return today + timedelta(days=count * (1 if m[2] == "天" else 7) - 1) if count else None
    return None


def _zh_number(text: str) -> int:
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _ZH_NUM.get(text[1:], 0)
    if text.endswith("十"):
        return _ZH_NUM.get(text[0], 0) * 10
    if "十" in text:
        tens, units = text.split("十", 1)
        return _ZH_NUM.get(tens, 0) * 10 + _ZH_NUM.get(units, 0)
    return _ZH_NUM.get(text, 0)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _upcoming(today: date, month: int, day: int) -> date | None:
    """A month and day without a year: this year's, or next year's when that has passed."""
    found = _date(today.year, month, day)
    if found is not None and found < today:
        found = _date(today.year + 1, month, day)
    return found


def find_day(text: str, today: date) -> str | None:
    """The first day named anywhere in `text`, as YYYY-MM-DD."""
    for match in _DATE_RE.finditer(text):
        found = parse_day(match.group(), today)
        if found is not None:
            return found.isoformat()
    return None


# ── the grammar ────────────────────────────────────────────────────────────────────────────────────

@dataclass(frozen=True)
class Context:
    today: date
    people: frozenset[str]

    def is_person(self, word: str) -> bool:
        return word.strip().lstrip("@").lower() in self.people or word.strip() in SELF


SELF = frozenset({"me", "i", "myself", "我", "本人", "我自己"})
_END = r"\s*[?？.。!！~]*$"
_Q = r"[\"'“”「」‘’]"
Build = Callable[[re.Match[str], Context], Intent | None]
_RULES: list[tuple[re.Pattern[str], Build]] = []


def rule(*patterns: str) -> Callable[[Build], Build]:
    def register(build: Build) -> Build:
        for pattern in patterns:
            _RULES.append((re.compile(pattern + _END, re.IGNORECASE), build))
        return build

    return register


def clean(text: str | None) -> str:
    """Argument text without surrounding quotes, spaces and trailing punctuation."""
    text = (text or "").strip()
    text = re.sub(r"^[\s,，:：]+|[\s,，:：?？.。!！~]+$", "", text)
    if len(text) >= 2 and re.fullmatch(_Q, text[0]) and re.fullmatch(_Q, text[-1]):
        text = text[1:-1].strip()
    return text


def first(m: re.Match[str], *names: str) -> str:
    """The first of these named groups that the pattern has and that matched."""
    groups = m.groupdict()
    return next((groups[n] for n in names if groups.get(n)), "")


def who(word: str) -> str:
    word = clean(word).lstrip("@")
    return "me" if word.lower() in SELF else word


# owner ---------------------------------------------------------------------------------------------

@rule(r"(?:what are |show |list |show me |which are )?(?:all )?my (?:customers|accounts|clients)|mine",
      r"我(?:负责|名下|在跟|跟进|跟|手上|手里|这边)?(?:的|有)?(?:哪些|什么)?客户|哪些客户是我的|我的")
def _mine(m: re.Match[str], c: Context) -> Intent:
    return Intent("owner", "mine")


@rule(r"(?:show |list |show me )?(?:all )?(?P<p>[\w.-]+?)(?:'s|’s) (?:customers|accounts|clients)",
      r"(?:show |list )?customers of (?P<p>[\w.-]+)",
      r"(?:which|what) customers does (?P<p>[\w.-]+) (?:own|have|handle)",
      r"(?P<p>[A-Za-z][\w.-]*|[\u4e00-\u9fff]{2,3}?)\s*(?:负责的客户|负责哪些客户|有哪些客户|名下(?:有)?(?:哪些|的)?客户"
      r"|跟(?:进)?的客户)")
def _persons_customers(m: re.Match[str], c: Context) -> Intent | None:
    person = who(m["p"])
    if person == "me":
        return Intent("owner", "mine")
    return Intent("owner", f"@{person}") if c.is_person(person) else None


@rule(r"(?P<p>.+?)\s*的客户")
def _whose_customers(m: re.Match[str], c: Context) -> Intent | None:
    """"li 的客户": li's customers; "华通的客户": the customer Huatong."""
    person = who(m["p"])
    if person == "me":
        return Intent("owner", "mine")
    if re.search(r"谁|哪|超时|逾期|回复|公海|新", person):  # "是谁的客户", "超时的客户": other questions
        return None
    return Intent("owner", f"@{person}" if c.is_person(person) else person)


@rule(r"(?:who|whom)\s+(?:owns|has|handles|manages|looks after|follows(?: up)?|is following|takes care of)\s+(?P<c>.+)",
      r"whose\s+(?:customer|account|client)\s+is\s+(?P<c>.+)", r"whose\s+is\s+(?P<c>.+)",
      r"who(?:'s|\s+is)\s+(?:the\s+)?(?:owner|sales(?:man|person)?|contact person|account manager)\s+(?:of|for)\s+(?P<c>.+)",
      r"who(?:'s|\s+is)\s+(?:responsible\s+for|in\s+charge\s+of|on|handling|following(?: up)?|looking after|managing)"
      r"\s+(?P<c>.+)",
      r"(?:the\s+)?owner\s+(?:of|for)\s+(?P<c>.+)", r"owner\s+(?P<c>.+)",
      r"(?:which|what)\s+(?:salesperson|sales(?:man|woman)?|person|colleague|one of us)\s+(?:has|owns|handles|is on|follows)"
      r"\s+(?P<c>.+)",
      r"who\s+(?:do|should|can)\s+i\s+(?:ask|talk to|contact)\s+(?:about|for|regarding)\s+(?P<c>.+)",
      r"is\s+(?P<c>.+?)\s+(?:mine|my customer|ours|my account)",
      r"(?:这个)?客户\s*(?:是)?谁(?:在)?(?:跟|负责|管)(?:进)?的?\s*[:：]\s*(?P<c>.+)",
      r"(?P<c>.+?)\s*归(?:哪个|哪位)(?:业务员|销售|同事|人)?(?:管|负责)?",
      r"(?P<c>.+?)\s*是(?:哪个|哪位)(?:销售|业务员|同事|人)(?:的|负责的|跟的|在跟的)?(?:客户)?",
      r"(?:who\s+)?(?:is\s+)?(?P<c>.+?)(?:'s|’s)\s+(?:owner|sales(?:person|man|woman| rep)?|account manager)", r"(?P<c>.+?)\s+belongs\s+to\s+whom",
      r"(?:查一?下|查查|请问)?\s*(?P<c>.+?)\s*(?:是)?谁的客户(?:啊|呀)?",
      r"(?:查一?下|查查|请问)?\s*(?P<c>.+?)\s*是谁的(?:啊|呀)?",
      r"(?:查一?下|查查|请问)?\s*谁(?:在)?(?:负责|跟进?|管)\s*(?P<c>.+?)(?:的)?(?:客户)?",
      r"(?:查一?下|查查|请问)?\s*(?P<c>.+?)\s*(?:是)?(?:谁|哪位)(?:在)?(?:负责|跟进?|管)的?(?:啊|呀)?",
      r"(?:查一?下|查查|请问)?\s*(?P<c>.+?)\s*归谁(?:管|负责)?(?:啊|呀)?",
      r"(?:查一?下|查查|请问)?\s*(?P<c>.+?)\s*的?\s*(?:负责人|业务员|跟进人|销售|业务|归属|owner|sales)\s*(?:是谁|是哪位)?",
      r"(?:负责人|归属)\s*(?P<c>.+)")
def _owner(m: re.Match[str], c: Context) -> Intent | None:
    customer = re.sub(r"\s*(?:这个|这家)(?:客户|公司|客人)?$", "", re.sub(r"\s*(?:归|是|由)$", "", clean(m["c"])))
    if not customer or customer.lower() in ("is", "it", "this", "that"):
        return None
    if customer.lower() in ("mine", "me", "my customers", "我", "我的"):
        return Intent("owner", "mine")
    return Intent("owner", customer)


# handover ------------------------------------------------------------------------------------------

_P = r"@?(?:[A-Za-z][A-Za-z0-9_.-]*|[\u4e00-\u9fff]{2,3}?)"


@rule(r"hand\s*over\s+(?P<f>" + _P + r")(?:'s customers)?\s+to\s+(?P<t>" + _P + r")(?:\s+(?P<s>.+))?",
      r"hand\s*over\s+(?P<s>.+?)\s+from\s+(?P<f>" + _P + r")\s+to\s+(?P<t>" + _P + r")",
      r"(?:hand|move|transfer|give)\s+(?P<f>" + _P + r")(?:'s|’s)\s+(?:customers|accounts|clients)\s+(?:over\s+)?to\s+"
      r"(?P<t>" + _P + r")",
      r"(?:move|transfer)\s+(?:all\s+)?(?:customers|accounts)\s+(?:of|from)\s+(?P<f>" + _P + r")\s+to\s+(?P<t>" + _P + r")",
      r"(?P<f>" + _P + r")\s+(?:is\s+)?(?:leaving|leaves|has left|left)[,;.]?\s*(?:hand\s*over|give|move)"
      r"(?:\s+(?:(?:all\s+)?(?:his|her|their)\s+customers|everything))?\s+to\s+(?P<t>" + _P + r")",
      r"hand\s*over\s+(?P<f>" + _P + r")\s+(?P<t>" + _P + r")(?:\s+(?P<s>.+))?")
def _handover_en(m: re.Match[str], c: Context) -> Intent | None:
    return _handover(m, c)


@rule(r"(?:把|将)?\s*(?P<f>" + _P + r")\s*(?:的)?(?:所有|全部)?(?:客户|工作|邮件)?\s*(?:都|全部|全)?\s*(?:交接|移交|转交|交)给\s*(?P<t>" + _P
      + r")(?:\s*(?P<s>.+?))?",
      r"(?:把|将)\s*(?P<f>" + _P + r")\s*的\s*(?P<s>.+?)\s*(?:交接|移交|转交|交)给\s*(?P<t>" + _P + r")",
      r"(?:交接|移交)\s*[:：]?\s*(?P<f>" + _P + r")\s*(?:的)?(?:所有|全部)?(?:客户)?\s*(?:给|到|→|->)?\s*(?P<t>" + _P
      + r")(?:\s+(?P<s>.+))?",
      r"(?P<f>" + _P + r")\s*(?:要)?(?:离职|走)(?:了)?[,，]?\s*(?:把)?\s*(?:(?:他|她)的)?(?:客户|工作)?\s*(?:都)?\s*"
      r"(?:交接|移交|交)给\s*(?P<t>" + _P + r")")
def _handover_zh(m: re.Match[str], c: Context) -> Intent | None:
    return _handover(m, c)


def _handover(m: re.Match[str], c: Context) -> Intent | None:
    giver, taker = who(m["f"]), who(m["t"])
    scope = clean(m.groupdict().get("s"))
    scope = re.sub(r"^(?:的|客户|customers?)\s*", "", scope)
    explicit = re.search(r"交接|移交|离职|hand\s*over|transfer|leav|left", m.group(0), re.IGNORECASE)
    if not c.is_person(giver) or not (explicit or c.is_person(taker)):
        return None
    return Intent("handover", f"{giver} {taker}" + (f" {scope}" if scope else ""))


@rule(r"(?:list\s+)?handovers", r"handover\s+list", r"(?:show\s+)?(?:the\s+)?handover\s+(?:list|history)",
      r"交接(?:记录|列表|历史|清单)", r"(?:查看|看看)(?:所有)?交接")
def _handover_list(m: re.Match[str], c: Context) -> Intent:
    return Intent("handover", "list")


@rule(r"(?P<v>confirm|cancel|undo|show)\s+handover\s+#?(?P<id>\d+)", r"handover\s+(?P<v>confirm|cancel|undo|show)\s+#?(?P<id>\d+)",
      r"(?P<zh>确认|取消|撤销|撤回|查看)交接\s*#?(?P<id>\d+)")
def _handover_verb(m: re.Match[str], c: Context) -> Intent:
    groups = m.groupdict()
    verb = (groups.get("v") or "").lower() or {"确认": "confirm", "取消": "cancel", "撤销": "undo", "撤回": "undo",
                                               "查看": "show"}[groups["zh"]]
    return Intent("handover", f"{verb} {m['id']}")


# assign --------------------------------------------------------------------------------------------

@rule(r"assign\s+(?P<c>.+?)\s+to\s+(?P<p>[\w.@-]+(?: [\w.-]+)?)", r"give\s+(?P<c>.+?)\s+to\s+(?P<p>[\w.@-]+)",
      r"make\s+(?P<p>[\w.@-]+)\s+(?:the\s+)?owner\s+of\s+(?P<c>.+)",
      r"set\s+(?:the\s+)?owner\s+of\s+(?P<c>.+?)\s+to\s+(?P<p>[\w.@-]+)",
      r"(?P<c>.+?)\s+(?:now\s+)?(?:belongs|goes)\s+to\s+(?P<p>[\w.@-]+)",
      r"(?P<c>.+?)\s+(?:should|shall|will|must)\s+(?:go|belong)\s+to\s+(?P<p>[\w.@-]+)",
      r"set\s+(?P<p>[\w.@-]+)\s+as\s+(?:the\s+)?owner\s+(?:of|for)\s+(?P<c>.+)",
      r"(?:把|将)?\s*(?P<c>.+?)\s*(?:分配|指派|分|转)给\s*(?P<p>[\w.@-]+?)(?:\s*负责|\s*跟进?)?",
      r"(?:分配|指派)\s*(?P<c>.+?)\s*给\s*(?P<p>[\w.@-]+?)(?:\s*负责|\s*跟进?)?",
      r"(?:把|将)?\s*(?P<c>.+?)\s*(?:交给|给)\s*(?P<p>[\w.@-]+?)\s*(?:负责|跟进?|管)",
      r"(?:让|由)\s*(?P<p>[\w.@-]+?)\s*(?:来)?(?:负责|跟进?|接手|管)\s*(?P<c>.+)",
      r"(?P<p>[A-Za-z][\w.@-]*)\s*(?:来)?接手\s*(?P<c>.+)",
      r"(?P<c>.+?)\s*(?:以后)?(?:归|由)\s*(?P<p>[\w.@-]+?)\s*(?:负责|跟进?|管)?",
      r"(?:把|将)\s*(?P<c>.+?)\s*给\s*(?P<p>[A-Za-z][\w.@-]*)")
def _assign(m: re.Match[str], c: Context) -> Intent | None:
    customer, person = clean(m["c"]), who(m["p"])
    if not customer or not person:
        return None
    if c.is_person(customer):  # "把 chen 分给 lucy": a person's customers → a handover
        return Intent("handover", f"{who(customer)} {person}")
    explicit = re.search(r"assign|owner|分配|指派", m.group(0), re.IGNORECASE)
    if not explicit and not c.is_person(person):
        return None
    return Intent("assign", f"{customer} {person}")


# away / back ---------------------------------------------------------------------------------------

@rule(r"who(?:'s|\s+is)\s+(?:away|out|off|on leave)(?: today| now)?", r"(?:list|show)\s+(?:who is\s+)?away",
      r"away", r"(?:现在|今天)?(?:谁|哪些人|有谁)(?:在)?(?:请假|休假|出差|不在)(?:了|呢)?", r"请假(?:名单|列表)")
def _away_list(m: re.Match[str], c: Context) -> Intent:
    return Intent("away", "")


_PERSON = r"(?P<w>i|i'm|i am|i'll be|i will be|me|我|本人|@?[a-z][\w.-]*|[\u4e00-\u9fff]{2,4}?)"
_ABSENT_EN = (r"(?:away|out(?: of (?:the )?office)?|off sick|off|on (?:leave|holiday|vacation|a business trip|business travel)"
              r"|travell?ing|on sick leave|sick)")
_ABSENT_ZH = r"(?:去(?:广交会|展会|参展|拜访客户|客户那)|参展|拜访客户|请假|请(?:病|事|年|婚|产)假|请了假|出差|休(?:[年产病婚事])?假|年假|病假|事假|不在|外出|放假|休息|调休|度假|回老家)"
_BACKUP_EN = (r"(?:[,;]?\s*(?:with\s+)?(?:backup|covered by|cover(?:ing)?:?|and)\s+(?P<b>[\w.@-]+)(?:\s+covers)?"
              r"|[,;]?\s*(?P<b3>[\w.@-]+)\s+(?:covers|will cover|is covering|is (?:the )?backup))?")
_BACKUP_ZH = (r"(?:[,，;；]?\s*(?:(?:由|让|请)\s*)?(?P<b>[\w.@-]+?)\s*(?:代班|代理|顶班|替班|备份|接手|帮忙看(?:一下|着)?|顶上|顶一下|代管)"
              r"|[,，;；]?\s*(?:备份|代班(?:人)?|backup)\s*[:：]?\s*(?P<b2>[\w.@-]+))?")


@rule(_PERSON + r"\s+(?:is|'m|am|are|will be|'ll be|)\s*" + _ABSENT_EN
      + r"\s+(?:until|till|til|through|thru|to|up to)\s+(?P<d>.+?)" + _BACKUP_EN,
      _PERSON + r"\s+(?:is|'m|am|are|will be|'ll be|)\s*" + _ABSENT_EN + r"\s+(?P<d>" + DATE + r")" + _BACKUP_EN,
      r"(?:set\s+)?" + _PERSON + r"\s+away\s+(?P<d>" + DATE + r")" + _BACKUP_EN,
      r"(?P<w>i)(?:'m| am)?\s+(?:taking|take)\s+(?:a\s+)?(?:leave|holiday|vacation|day off|days off)\s+"
      r"(?:until|till|through|to)\s+(?P<d>.+?)" + _BACKUP_EN)
def _away_en(m: re.Match[str], c: Context) -> Intent | None:
    return _away(m, c)


@rule(_PERSON + r"\s*(?P<d0>" + DATE + r")?\s*(?:要|想|开始|起)?\s*" + _ABSENT_ZH
      + r"\s*(?:了)?\s*[,，]?\s*(?:到|至|直到|一直到|到了)?\s*(?P<d>" + DATE + r")?\s*(?:为止|结束|回来)?\s*(?:都)?(?:不在|休息|请假)?"
      + _BACKUP_ZH,
      _PERSON + r"\s*(?:从)?\s*(?:" + DATE + r")?\s*(?:开始|起)?\s*(?:到|至|直到)\s*(?P<d>" + DATE + r")\s*(?:都)?\s*"
      + _ABSENT_ZH + _BACKUP_ZH,
      _PERSON + r"\s*(?P<d>" + DATE + r")\s*(?:之前|前|以前)\s*(?:都|一直)?\s*(?:在)?\s*" + _ABSENT_ZH + _BACKUP_ZH,
      _PERSON + r"\s*" + _ABSENT_ZH + r"\s*(?P<d>" + DATE + r")" + _BACKUP_ZH)
def _away_zh(m: re.Match[str], c: Context) -> Intent | None:
    return _away(m, c)


def _away(m: re.Match[str], c: Context) -> Intent | None:
    person = who(re.sub(r"'m$| am$|'ll be$| will be$", "", m["w"]))
    groups = m.groupdict()
    text = groups.get("d") or groups.get("d0") or ""
    day = find_day(text, c.today) if text else None
    if day is None:
        day = c.today.isoformat() if not text and groups.get("d0") is None and "d0" in groups else None
        if day is None:
            return None
    backup = groups.get("b") or groups.get("b2") or groups.get("b3")
    args = f"{person} until {day}"
    if backup:
        args += f" backup {who(backup)}"
    return Intent("away", args)


@rule(_PERSON + r"(?:'s|’s|\s+(?:is|'m|am|are))?\s*back(?: (?:at work|in the office|from (?:leave|holiday|vacation|a trip)))?",
      _PERSON + r"\s*(?:已经|已)?(?:回来上班了?|回来了|回来|销假|返岗|上班了|回公司了|结束休假|出差回来了?)")
def _back(m: re.Match[str], c: Context) -> Intent | None:
    return Intent("away", f"{who(m['w'].replace(chr(39) + 'm', '').replace(' am', ''))} back")


# sla -----------------------------------------------------------------------------------------------

@rule(r"(?:what(?:'s| is| has)|which are|show(?: me)?|list|anything|any|are there(?: any)?)?\s*(?:mail\s+|mails\s+|items\s+)?"
      r"(?:breached|breaches|overdue|late|past (?:due|sla))(?:\s+(?:mail|mails|items|threads|alerts))?(?:\s+(?:now|today))?",
      r"sla\s+breach(?:es|ed)?", r"(?:show|list)\s+(?:the\s+)?(?:sla\s+)?breaches",
      r"(?:我们)?(?:哪些|有哪些|有没有|还有|有什么|有)?\s*(?:邮件|客户|询盘)?\s*(?:已经)?(?:超时|逾期|过期|超期)(?:了)?(?:哪些|什么)?(?:的)?(?:邮件|客户|询盘)?(?:有哪些|吗|呢)?",
      r"(?:查看|看看|看一下|列出)\s*(?:哪些|有哪些)?\s*(?:超时|逾期)(?:了)?(?:的)?(?:邮件)?")
def _breached(m: re.Match[str], c: Context) -> Intent:
    return Intent("sla", "breached")


@rule(r"my\s+(?:sla|overdue|breaches|breached|waiting|unanswered|late)(?:\s+(?:mails?|items|e-?mails))?",
      r"what(?:'s| is)\s+(?:waiting|overdue|late)\s+(?:on|for)\s+me",
      r"what\s+am\s+i\s+(?:late|behind|overdue)\s+(?:on|with)", r"(?:sla|overdue|breached)\s+mine",
      r"what\s+(?:do|should)\s+i\s+(?:answer|reply to)(?:\s+first)?",
      r"我的\s*(?:sla|超时|逾期|待回复|未回复|没回复)(?:的)?(?:邮件)?",
      r"我(?:这边|这里)?(?:有没有|有)?(?:哪些|几封|几个|多少)?(?:超时|逾期|没回复|待回复|未回复)(?:的)?(?:邮件|客户)?(?:了)?",
      r"我(?:这边|这里)?(?:还)?(?:有)?(?:哪些|什么)?(?:邮件|客户)?(?:没(?:有)?回(?:复)?|要回(?:复)?)(?:的)?")
def _sla_mine(m: re.Match[str], c: Context) -> Intent:
    return Intent("sla", "mine")


@rule(r"sla", r"what(?:'s| is)\s+(?:waiting|pending|open|unanswered)", r"who(?:'s| is)\s+waiting(?:\s+(?:on|for)\s+us)?",
      r"(?:show|list)\s+(?:the\s+)?(?:sla|waiting mail|open items|unanswered mail)",
      r"(?:unanswered|waiting|pending)\s+(?:mail|mails|customers|items)",
      r"what\s+(?:needs|need)\s+(?:a\s+)?(?:reply|answer)", r"what\s+haven't\s+we\s+answered",
      r"(?:哪些|还有哪些|有哪些|还有)?\s*(?:邮件|客户|询盘)?\s*(?:还)?(?:没(?:有)?回(?:复)?|未回复|待回复|待处理|等待回复|在等(?:回复)?)(?:的)?(?:邮件|客户)?",
      r"(?:哪些|有哪些|还有)?客户(?:还)?在等(?:我们)?(?:的)?(?:回复)?(?:的)?(?:有哪些)?",
      r"(?:which|what)\s+(?:customers|mails?|threads|e-?mails)\s+(?:are\s+)?(?:waiting|unanswered|open)"
      r"(?:\s+(?:for|on)\s+(?:an?\s+)?(?:answer|reply|us))?")
def _sla(m: re.Match[str], c: Context) -> Intent:
    return Intent("sla", "")


@rule(r"(?:sla\s+)?(?P<team>[a-z][\w-]*)\s+team(?:'s)?\s+(?:sla|overdue|waiting|breaches)",
      r"(?:sla|overdue|waiting)\s+(?:for|of)\s+(?:the\s+)?(?P<team2>[a-z][\w-]*)\s+team",
      r"(?P<team3>[a-z][\w-]*)\s*(?:团队|组|部)的?\s*(?:超时|sla|待回复|没回复)")
def _sla_team(m: re.Match[str], c: Context) -> Intent:
    return Intent("sla", f"team {clean(first(m, 'team', 'team2', 'team3'))}")


@rule(r"(?:ack|acknowledge)\s+(?:sla\s+|alert\s+|item\s+)?#?(?P<id>\d+)", r"(?:确认|收到|知道了)\s*(?:告警|提醒)?\s*#?(?P<id>\d+)")
def _ack(m: re.Match[str], c: Context) -> Intent:
    return Intent("sla", f"ack {m['id']}")


@rule(r"(?:resolve|close|solved|resolved)\s+(?:sla\s+|item\s+)?#?(?P<id>\d+)",
      r"#?(?P<id2>\d+)\s*(?:is\s+)?(?:resolved|solved|done|已解决|解决了|处理完了|已处理)",
      r"(?:解决|关闭|已解决)\s*#?(?P<id3>\d+)")
def _resolve(m: re.Match[str], c: Context) -> Intent:
    return Intent("sla", f"resolve {first(m, 'id', 'id2', 'id3')}")


@rule(r"snooze\s+(?:sla\s+|item\s+)?#?(?P<id>\d+)\s+(?:for\s+)?(?P<d>\d+\s*(?:h|m|d|hours?|minutes?|days?))",
      r"#?(?P<id2>\d+)\s*(?:推迟|延后|稍后提醒|晚点提醒|暂停)\s*(?P<d2>\d+\s*(?:个?小时|分钟|天|h|m|d))",
      r"(?:推迟|延后|稍后提醒|暂停)\s*#?(?P<id3>\d+)\s*(?P<d3>\d+\s*(?:个?小时|分钟|天|h|m|d))")
def _snooze(m: re.Match[str], c: Context) -> Intent:
    item = first(m, "id", "id2", "id3")
    span = first(m, "d", "d2", "d3").replace(" ", "")
    span = re.sub(r"(\d+)(?:个?小时|hours?)", r"\1h", span)
    span = re.sub(r"(\d+)(?:分钟|minutes?)", r"\1m", span)
    span = re.sub(r"(\d+)(?:天|days?)", r"\1d", span)
    return Intent("sla", f"snooze {item} {span}")


# claim / pass / pool -------------------------------------------------------------------------------

@rule(r"claim\s+(?:the\s+)?customer\s+(?P<c>.+)", r"claim\s+(?P<c2>.+?)\s+from\s+the\s+pool",
      r"(?:我要|我想|我来)?(?:从公海)?认领(?:公海)?客户\s*(?P<c>.+)", r"从公海(?:里)?(?:认领|领取|拿)\s*(?P<c2>.+)")
def _claim_customer(m: re.Match[str], c: Context) -> Intent:
    return Intent("claim", f"customer {clean(first(m, 'c', 'c2'))}")


@rule(r"claim\s+(?:inquiry\s+)?#?(?P<id>\d+)", r"i(?:'ll| will)?\s+take\s+(?:inquiry\s+)?#?(?P<id>\d+)",
      r"take\s+(?:inquiry\s+)?#?(?P<id>\d+)", r"mine:?\s+#?(?P<id>\d+)",
      r"(?:认领|我来跟|我来接|我接|我来|我要|我跟)\s*(?:询盘)?\s*#?(?P<id>\d+)")
def _claim(m: re.Match[str], c: Context) -> Intent:
    return Intent("claim", m["id"])


@rule(r"(?:i\s+)?pass\s+(?:on\s+)?(?:inquiry\s+)?#?(?P<id>\d+)", r"skip\s+(?:inquiry\s+)?#?(?P<id>\d+)",
      r"(?:not me|no time)[,:]?\s+#?(?P<id>\d+)",
      r"(?:转给下一位|跳过|不跟|我不跟|没空跟|转下一位|让给别人)\s*(?:询盘)?\s*#?(?P<id>\d+)")
def _pass(m: re.Match[str], c: Context) -> Intent:
    return Intent("pass", m["id"])


@rule(r"(?:show\s+(?:me\s+)?(?:the\s+)?|what's in the\s+|list\s+(?:the\s+)?)?(?:customer\s+)?pool(?:\s+customers)?",
      r"(?:查看|看看|看一下|打开)?\s*公海(?:里|中|池)?(?:有)?(?:哪些|什么)?(?:的)?(?:客户)?(?:有哪些)?")
def _pool(m: re.Match[str], c: Context) -> Intent:
    return Intent("pool", "")


@rule(r"(?P<v>approve|refuse|reject|deny)\s+(?:pool\s+)?(?:request\s+)?#?(?P<id>\d+)",
      r"(?P<zh>批准|同意|拒绝|驳回)\s*(?:公海)?(?:申请|认领)?\s*#?(?P<id>\d+)")
def _pool_verb(m: re.Match[str], c: Context) -> Intent:
    groups = m.groupdict()
    verb = (groups.get("v") or "").lower()
    verb = "approve" if verb == "approve" or groups.get("zh") in ("批准", "同意") else "refuse"
    return Intent("pool", f"{verb} {m['id']}")


# search, show, help, audit -------------------------------------------------------------------------

@rule(r"(?:search|find|look\s+for|look\s+up|lookup|grep)(?:\s+for)?\s+(?:(?:mails?|e-?mails?|messages?)\s+"
      r"(?:about|with|for|on|mentioning|containing)\s+)?(?P<q>.+?)(?:\s+(?:mails?|e-?mails?|messages?))?",
      r"(?:any|all)\s+(?:mails?|e-?mails?|messages?)\s+(?:about|with|mentioning)\s+(?P<q>.+)",
      r"(?:帮我|请)?(?:搜索|搜一搜|搜搜|搜|查找|找找|找|检索|search|查一下邮件|查邮件)\s*(?:一下|下)?\s*[:：]?\s*"
      r"(?:关于|包含|有关)?\s*(?P<q>.+?)\s*(?:的|相关的)?(?:邮件|信)?")
def _search(m: re.Match[str], c: Context) -> Intent | None:
    query = re.sub(r"^(?:一下|下)\s*", "", clean(m["q"]))  # "search 一下 形式发票"
    return Intent("search", query) if query else None


@rule(r"查(?:一下|下)?\s+(?P<q>.+)")
def _look_up(m: re.Match[str], c: Context) -> Intent | None:
    """"查 PO 4521": look it up in the mail (after every other reading of 查 was tried)."""
    query = clean(m["q"])
    return Intent("search", query) if query else None


@rule(r"(?:more|more results|next page|show more)", r"(?:更多|下一页|再来|还有吗|继续)")
def _more(m: re.Match[str], c: Context) -> Intent:
    return Intent("search", "more")


@rule(r"(?:show|open|read)\s+(?:message\s+|mail\s+|e-?mail\s+)?#?(?P<id>\d+)",
      r"(?:显示|查看|打开|看看|看一下)\s*(?:邮件)?\s*#?(?P<id>\d+)(?:\s*号邮件)?")
def _show(m: re.Match[str], c: Context) -> Intent:
    return Intent("show", m["id"])


@rule(r"help", r"help\s+(?P<c>\w+)", r"what can you do", r"commands", r"how does this work", r"\?",
      r"帮助", r"你能做什么", r"你会什么", r"怎么用", r"使用说明", r"有哪些命令")
def _help(m: re.Match[str], c: Context) -> Intent:
    topic = m.groupdict().get("c")
    return Intent("help", topic or "")


@rule(r"(?:show\s+(?:the\s+)?)?audit(?:\s+log)?", r"(?:verify|check)\s+(?:the\s+)?audit(?:\s+log|\s+chain)?",
      r"审计(?:日志|记录)?", r"(?:校验|检查)审计(?:日志|链)?")
def _audit(m: re.Match[str], c: Context) -> Intent:
    text = m.group(0).lower()
    return Intent("audit", "verify" if re.search(r"verify|check|校验|检查", text) else "")


@rule(r"export\s+(?:(?P<f>csv|mbox)\s+)?(?:(?:mails?|e-?mails?)\s+(?:about|of|for)\s+)?(?P<q>.+)",
      r"导出\s*(?P<f>csv|mbox)?\s*(?P<q>.+?)\s*(?:的)?(?:邮件)?")
def _export(m: re.Match[str], c: Context) -> Intent | None:
    query = clean(m["q"])
    if not query:
        return None
    return Intent("export", f"{(first(m, 'f') or 'csv').lower()} {query}")


@rule(r"(?:category|set category of|categorise|categorize)\s+#?(?P<id>\d+)\s+(?:as\s+|to\s+)?(?P<cat>\w+)",
      r"(?:分类|归类)\s*#?(?P<id>\d+)\s*(?:为|成|是)?\s*(?P<cat>\w+)", r"#?(?P<id>\d+)\s*(?:归为|分类为|是)\s*(?P<cat>[a-z]+)")
def _category(m: re.Match[str], c: Context) -> Intent:
    return Intent("category", f"{m['id']} {m['cat'].lower()}")


# ── entry points ───────────────────────────────────────────────────────────────────────────────────

_POLITE = re.compile(r"^(?:(?:hi|hey|hello|please|pls|plz|can you|could you|would you|tell me|请问|请|麻烦|帮我|你好|嗨)"
                     r"[\s,，:：]*)+", re.IGNORECASE)
_FILLER = re.compile(r"(?:\s+(?:these days|right now|at the moment|currently|now|still)(?=\s|[?？.!！]*$))"
                     r"|(?<=\S)(?:现在|目前|当前)|^(?:现在|目前|当前)|(?<=\bwhat's)\s+still|(?<=\bwhat is)\s+still",
                     re.IGNORECASE)
_POLITE_END = re.compile(r"(?:[\s,，]*(?:please|pls|thanks|thank you|谢谢|谢了|thx|吗|呢|啊|呀))+\s*[?？.。!！~]*$",
                         re.IGNORECASE)


def understand(text: str, *, today: date, people: Collection[str] = ()) -> Intent | None:
    """The command a sentence asks for, or None (the router then suggests the closest commands)."""
    text = normalize(text)
    if not text or len(text) > MAX_TEXT or text.startswith("/"):
        return None
    context = Context(today=today, people=frozenset(p.lower() for p in people))
    candidates = [text]
    stripped = _FILLER.sub(" ", _POLITE_END.sub("", _POLITE.sub("", text))).strip()
    stripped = " ".join(stripped.split())
    if stripped and stripped != text:
        candidates.insert(0, stripped)
    for candidate in candidates:
        for pattern, build in _RULES:
            match = pattern.match(candidate)
            if match:
                intent = build(match, context)
                if intent is not None:
                    return intent
    return None


# ── unknown text: the closest commands ─────────────────────────────────────────────────────────────

KEYWORDS: dict[str, tuple[str, ...]] = {
    "owner": ("owner", "owns", "whose", "who", "customer", "client", "account", "responsible", "负责", "客户", "谁", "归"),
    "assign": ("assign", "give", "owner", "分配", "指派", "给", "归"),
    "sla": ("sla", "overdue", "breach", "breached", "waiting", "late", "reply", "answer", "unanswered", "超时", "逾期",
            "回复", "等", "没回"),
    "away": ("away", "leave", "holiday", "vacation", "trip", "off", "back", "absent", "sick", "请假", "出差", "休假",
             "不在", "回来", "病假", "年假"),
    "handover": ("handover", "hand", "transfer", "move", "leaving", "quit", "交接", "移交", "离职", "转交"),
    "search": ("search", "find", "look", "invoice", "quotation", "搜", "找", "查找", "发票", "报价"),
    "show": ("show", "open", "read", "message", "显示", "打开", "查看"),
    "claim": ("claim", "take", "inquiry", "认领", "询盘", "接"),
    "pass": ("pass", "skip", "next", "跳过", "下一位"),
    "pool": ("pool", "公海", "unclaimed"),
    "export": ("export", "csv", "mbox", "download", "导出"),
    "audit": ("audit", "log", "history", "审计", "日志"),
    "category": ("category", "categorise", "categorize", "分类"),
    "help": ("help", "how", "what", "帮助", "怎么"),
}


def suggest(text: str, commands: Collection[str], limit: int = 3) -> list[str]:
    """The commands (of `commands`, the ones the asker may use) whose vocabulary the text is closest to."""
    from rapidfuzz import fuzz

    text = normalize(text)[:MAX_TEXT].lower()
    words = re.findall(r"[a-z]+", text)
    scores: dict[str, float] = {}
    for name in commands:
        score = 0.0
        for keyword in KEYWORDS.get(name, (name,)):
            if keyword.isascii():
                best = max((fuzz.ratio(keyword, w) for w in words), default=0.0)
                score += 1.0 if best == 100 else 0.6 if best >= 80 and len(keyword) > 3 else 0.0
            elif keyword in text:
                score += 1.0
        if score:
            scores[name] = score
    ranked = sorted(scores, key=lambda n: (-scores[n], n))
    return ranked[:limit]
