"""How fast and how well `/owner` finds a customer among 100,000.

    python bench/owner_bench.py            # 100,000 customers, 1,000 labelled queries (~5 min on 2 cores)
    python bench/owner_bench.py --quick    # 10,000 customers, 200 queries (smoke test)

Generates customers the way export factories' CRMs look (Latin, accented and Chinese names, legal forms
of many countries, domains, aliases, free-mail contacts), writes them to a real SQLite archive, builds the
matcher from it (bot.customers.matching.load_index, as the bot does) and asks labelled queries with typos, missing
or different legal forms, swapped words, stripped or transliterated accents, Chinese names, pinyin,
domains and addresses. The baseline, in the same run: rapidfuzz `process.extractOne` with WRatio and
`utils.default_process` over every customer name and alias. Prints p50/p95 latency, top-1 accuracy
(overall and per kind of query), the ratios against the baseline, build time and peak memory.
"""

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process, utils  # noqa: E402

from bot.customers.matching import CustomerIndex, load_index, name_key  # noqa: E402
from bot.schema import open_archive  # noqa: E402

ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "k", "kr", "l", "m", "n", "p", "pr", "r", "s", "sch", "st", "t", "tr", "v", "w", "z", "j", "bl", "cl", "gl", "pl", "sl", "sp", "sk"]
VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o", "u", "ai", "au", "ei", "ia", "io", "ou", "ea"]
CODAS = ["", "", "", "n", "r", "l", "s", "nd", "rt", "x", "m", "ck", "th", "v"]
INDUSTRY = ["Trading", "Valves", "Industrial", "Supply", "Engineering", "Pumps", "Flow", "Technik", "Handel", "Import", "Export", "Hydraulics", "Machinery", "Systems", "Group", "Solutions", "Armatura", "Industrie", "Metal", "Steel", "Components", "Controls", "Fluid", "Piping", "Automation", "Process", "Marine", "Energy", "Water"]
PLACES = ["Nordic", "Pacific", "Baltic", "Atlantic", "Alpine", "Rhein", "Danube", "Iberia", "Andes", "Sahara", "Orient", "Euro", "Global", "United", "Northern", "Southern", "Eastern", "Western", "Central", "Coastal", "Delta", "Lakeside", "Highland"]
LEGAL = {
    "DE": ["GmbH", "AG", "GmbH & Co. KG", "KG"], "GB": ["Ltd", "Limited", "PLC"], "US": ["LLC", "Inc.", "Corp."],
    "DK": ["ApS", "A/S"], "SE": ["AB"], "NO": ["AS"], "PT": ["Lda"], "BR": ["Ltda"], "TR": ["A.Ş.", "Ltd. Şti."],
    "PL": ["Sp. z o.o."], "MX": ["SA de CV"], "ES": ["S.L.", "S.A."], "IT": ["S.r.l.", "S.p.A."], "NL": ["B.V."],
    "FR": ["SARL", "SAS"], "AE": ["Est.", "FZCO"], "IN": ["Pvt. Ltd."],
}
TLD = {"DE": "de", "GB": "co.uk", "US": "com", "DK": "dk", "SE": "se", "NO": "no", "PT": "pt", "BR": "com.br",
       "TR": "com.tr", "PL": "pl", "MX": "com.mx", "ES": "es", "IT": "it", "NL": "nl", "FR": "fr", "AE": "ae",
       "IN": "in", "CN": "cn", "JP": "co.jp"}
ACCENTS = {"DE": {"a": "ä", "o": "ö", "u": "ü", "ss": "ß"}, "TR": {"s": "ş", "c": "ç", "g": "ğ", "i": "ı", "o": "ö"},
           "PL": {"l": "ł", "s": "ś", "z": "ż", "o": "ó"}, "PT": {"a": "ã", "c": "ç", "e": "é"},
           "DK": {"o": "ø", "a": "å", "ae": "æ"}, "SE": {"a": "å", "o": "ö"}, "ES": {"n": "ñ", "a": "á", "o": "ó"},
           "FR": {"e": "é", "c": "ç"}}
HANZI = {
    "华": "hua", "通": "tong", "东": "dong", "方": "fang", "恒": "heng", "达": "da", "金": "jin", "利": "li",
    "宏": "hong", "兴": "xing", "盛": "sheng", "源": "yuan", "泰": "tai", "丰": "feng", "新": "xin", "世": "shi",
    "纪": "ji", "海": "hai", "天": "tian", "鸿": "hong", "鑫": "xin", "隆": "long", "昌": "chang", "富": "fu",
    "顺": "shun", "安": "an", "康": "kang", "明": "ming", "光": "guang", "永": "yong", "德": "de", "正": "zheng",
    "中": "zhong", "瑞": "rui", "祥": "xiang", "和": "he", "信": "xin", "诚": "cheng", "嘉": "jia", "佳": "jia",
    "立": "li", "力": "li", "强": "qiang", "威": "wei", "远": "yuan", "博": "bo", "宇": "yu", "星": "xing",
    "峰": "feng", "锦": "jin", "辉": "hui", "耀": "yao", "创": "chuang", "升": "sheng", "万": "wan", "亿": "yi",
    "凯": "kai", "腾": "teng", "飞": "fei", "龙": "long", "虎": "hu", "鹏": "peng", "骏": "jun", "豪": "hao",
    "杰": "jie", "俊": "jun", "伟": "wei", "宝": "bao", "玉": "yu", "银": "yin", "铭": "ming",
    "精": "jing", "工": "gong", "联": "lian", "合": "he", "同": "tong", "泽": "ze", "润": "run", "清": "qing",
    "波": "bo", "江": "jiang", "河": "he", "山": "shan", "林": "lin", "森": "sen", "春": "chun", "秋": "qiu",
    "冠": "guan", "群": "qun", "卓": "zhuo", "越": "yue", "久": "jiu", "长": "chang", "乐": "le", "美": "mei",
    "奥": "ao", "欧": "ou", "亚": "ya", "环": "huan", "球": "qiu", "科": "ke", "技": "ji", "航": "hang",
}
CITIES = {"深圳": "Shenzhen", "上海": "Shanghai", "宁波": "Ningbo", "杭州": "Hangzhou", "广州": "Guangzhou",
          "温州": "Wenzhou", "苏州": "Suzhou", "天津": "Tianjin", "青岛": "Qingdao", "厦门": "Xiamen",
          "东莞": "Dongguan", "佛山": "Foshan", "无锡": "Wuxi", "台州": "Taizhou", "泉州": "Quanzhou"}
TRADES = {"贸易": "Trading", "机电": "Electromechanical", "阀门": "Valve", "五金": "Hardware", "实业": "Industrial",
          "科技": "Technology", "机械": "Machinery", "进出口": "Import and Export", "流体": "Fluid", "泵业": "Pump"}
FIRST = ["anna", "hans", "erik", "maria", "jose", "luis", "piotr", "mehmet", "sarah", "john", "li", "wei", "fatima", "olga", "lars", "sofia", "ahmed"]
KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


@dataclass
class Customer:
    id: int
    name: str
    country: str
    core: str
    words: list[str]
    domains: list[str]
    aliases: list[str]
    contacts: list[str]
    chinese: bool = False
    legal: str = ""
    plain_core: str = ""


def ascii_fold(text: str) -> str:
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("ł", "l").replace("ı", "i")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def transliterate(text: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"), ("ß", "ss")):
        text = text.replace(a, b)
    return ascii_fold(text)


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.keys: set[str] = set()
        self.cores: set[str] = set()
        self.domains: set[str] = set()
        self.pinyin: set[str] = set()

    def word(self) -> str:
        n = self.rng.choice((2, 2, 3, 3, 3))
        return "".join(self.rng.choice(ONSETS) + self.rng.choice(VOWELS) + self.rng.choice(CODAS)
                       for _ in range(n)).capitalize()

    def accent(self, word: str, country: str) -> str:
        table = ACCENTS.get(country)
        if not table:
            return word
        options = [(a, b) for a, b in table.items() if a in word[1:]]
        if not options:
            return word
        a, b = self.rng.choice(options)
        i = word.index(a, 1)
        return word[:i] + b + word[i + len(a):]

    def customers(self, count: int) -> list[Customer]:
        out: list[Customer] = []
        while len(out) < count:
            roll = self.rng.random()
            made = self.chinese(len(out) + 1, japanese=roll < 0.02) if roll < 0.16 else self.latin(len(out) + 1)
            if made is not None:
                out.append(made)
        return out

    def latin(self, cid: int) -> Customer | None:
        country = self.rng.choice(list(LEGAL))
        core = self.word()
        if self.rng.random() < 0.5:
            core = self.accent(core, country)
        key = ascii_fold(core).lower()
        if key in self.cores:
            return None
        shape = self.rng.random()
        industry = self.rng.sample(INDUSTRY, 2)
        if shape < 0.45:
            words = [core, industry[0]]
        elif shape < 0.6:
            words = [core, "&", self.accent(self.word(), country)]
        elif shape < 0.8:
            words = [self.rng.choice(PLACES), core, industry[0]]
        else:
            words = [core, industry[0], industry[1]]
        legal = self.rng.choice(LEGAL[country])
        name = " ".join([*words, legal])
        nkey = name_key(name)
        if nkey in self.keys:
            return None
        self.keys.add(nkey)
        self.cores.add(key)
        domain = self.domain(ascii_fold(core).lower(), ascii_fold(words[-1]).lower(), country)
        aliases: list[str] = []
        r = self.rng.random()
        if r < 0.2:
            aliases.append(" ".join(words))
        elif r < 0.35 and core != ascii_fold(core):
            aliases.append(transliterate(" ".join(words)))
        elif r < 0.45:
            aliases.append("".join(w[0] for w in words if w != "&").upper() + " " + ascii_fold(core))
        contact = f"{self.rng.choice(FIRST)}@{domain}"
        domains = [domain]
        if self.rng.random() < 0.03:
            contact = f"{key}.{self.rng.choice(FIRST)}{self.rng.randrange(1990, 2030)}@gmail.com"
            domains = []
        return Customer(cid, name, country, core, words, domains, aliases, [contact], legal=legal,
                        plain_core=key)

    def chinese(self, cid: int, *, japanese: bool) -> Customer | None:
        chars = self.rng.sample(list(HANZI), self.rng.choice((2, 2, 3)))
        core = "".join(chars)
        core_pinyin = "".join(HANZI[c] for c in chars).capitalize()
        if core in self.cores or core_pinyin.lower() in self.pinyin:
            return None
        city = self.rng.choice(list(CITIES))
        trade = self.rng.choice(list(TRADES))
        legal = "株式会社" if japanese else "有限公司"
        name = f"{city}{core}{trade}{legal}"
        self.cores.add(core)
        self.pinyin.add(core_pinyin.lower())
        english = f"{CITIES[city]} {core_pinyin} {TRADES[trade]} Co., Ltd."
        domain = self.domain(core_pinyin.lower(), "", "JP" if japanese else "CN")
        return Customer(cid, name, "CN", core, [city, core, trade], [domain], [english, core_pinyin],
                        [f"sales@{domain}"], chinese=True, legal=legal, plain_core=core_pinyin)

    def domain(self, core: str, extra: str, country: str) -> str:
        base = core if self.rng.random() < 0.5 or not extra else f"{core}-{extra}"
        domain = f"{base}.{TLD.get(country, 'com')}"
        while domain in self.domains:
            domain = f"{base}{self.rng.randrange(10, 99)}.{TLD.get(country, 'com')}"
        self.domains.add(domain)
        return domain

    # ── labelled queries ──

    def typo(self, word: str) -> str:
        if len(word) < 4:
            return word
        i = self.rng.randrange(1, len(word) - 1)
        op = self.rng.choice(("delete", "swap", "replace", "insert"))
        if op == "delete":
            return word[:i] + word[i + 1:]
        if op == "swap":
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        row = next((r for r in KEYBOARD if word[i].lower() in r), "aeiou")
        j = row.find(word[i].lower())
        near = row[max(0, j - 1)] if j > 0 else row[min(len(row) - 1, j + 1)]
        if op == "replace":
            return word[:i] + near + word[i + 1:]
        return word[:i] + near + word[i:]

    def query(self, c: Customer) -> tuple[str, str]:
        """(kind, text) for one customer."""
        words = [w for w in c.words if w != "&"]
        if c.chinese:
            kind = self.rng.choice(("chinese-full", "chinese-no-city", "chinese-core", "pinyin", "pinyin-typo",
                                    "english-alias"))
            city, core, trade = c.words
            return kind, {
                "chinese-full": f"{city}{core}{trade}",
                "chinese-no-city": f"{core}{trade}",
                "chinese-core": f"{core}{trade}" if self.rng.random() < 0.5 else f"{city}{core}",
                "pinyin": c.plain_core.lower(),
                "pinyin-typo": self.typo(c.plain_core).lower(),
                "english-alias": c.aliases[0].replace(" Co., Ltd.", "").lower(),
            }[kind]
        kinds = ["typo", "typo", "typo", "no-legal", "case", "swapped", "legal-variant", "typo+swapped",
                 "partial"]
        if c.core != ascii_fold(c.core):
            kinds += ["accents-stripped", "transliterated", "accents-stripped+typo"]
        if c.domains:
            kinds += ["domain"]
        kinds += ["e-mail"]
        kind = self.rng.choice(kinds)
        if kind == "typo":
            k = self.rng.randrange(len(words))
            typed = [self.typo(w) if i == k else w for i, w in enumerate(words)]
            return kind, " ".join(typed).lower()
        if kind == "no-legal":
            return kind, " ".join(c.words)
        if kind == "case":
            return kind, c.name.upper() if self.rng.random() < 0.5 else c.name.lower()
        if kind == "swapped":
            return kind, " ".join(reversed(words))
        if kind == "legal-variant":
            other = self.rng.choice([legal for forms in LEGAL.values() for legal in forms])
            simple = c.legal.replace(".", "").replace("Ş", "S")
            return kind, " ".join([*c.words, simple if self.rng.random() < 0.5 else other])
        if kind == "typo+swapped":
            typed = [self.typo(w) if i == 0 else w for i, w in enumerate(words)]
            return kind, " ".join(reversed(typed)).lower()
        if kind == "partial":
            return kind, c.core if self.rng.random() < 0.5 else f"{c.core} {words[-1]}"
        if kind == "accents-stripped":
            return kind, ascii_fold(" ".join(c.words))
        if kind == "transliterated":
            return kind, transliterate(" ".join(c.words))
        if kind == "accents-stripped+typo":
            return kind, " ".join(self.typo(ascii_fold(w)) if w == c.core else ascii_fold(w) for w in words)
        if kind == "domain":
            domain = c.domains[0]
            return kind, self.rng.choice((domain, f"www.{domain}", f"https://{domain}/", f"info@{domain}"))
        return kind, c.contacts[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def write_archive(folder: Path, customers: list[Customer]) -> Path:
    import json

    path = folder / "bench.db"
    db = open_archive(path)
    with db.conn:
        db.conn.executemany(
            "INSERT INTO customers (id, name, domains, aliases, contacts, country, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'crm', '2026-01-01T00:00:00Z')",
            [(c.id, c.name, json.dumps(c.domains), json.dumps(c.aliases, ensure_ascii=False), json.dumps(c.contacts),
              c.country) for c in customers],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO customer_keys (key, customer_id) VALUES (?, ?)",
            [(k, c.id) for c in customers for k in (*c.domains, *c.contacts)],
        )
    db.conn.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers and 200 queries")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--queries", type=int, default=None)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    n_customers = args.customers or (10_000 if args.quick else 100_000)
    n_queries = args.queries or (200 if args.quick else 1_000)

    gen = Generator(args.seed)
    customers = gen.customers(n_customers)
    sample = gen.rng.sample(customers, n_queries)
    queries = [(c.id, *gen.query(c)) for c in sample]
    print(f"customers: {len(customers):,} ({sum(c.chinese for c in customers):,} Chinese or Japanese, "
          f"{sum(c.core != ascii_fold(c.core) for c in customers):,} accented); queries: {len(queries):,}")

    with tempfile.TemporaryDirectory(prefix="owner-bench-") as tmp:
        path = write_archive(Path(tmp), customers)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db = open_archive(path)
        started = time.perf_counter()
        index = load_index(db)
        build = time.perf_counter() - started
        rss_index = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        db.conn.close()
    print(f"index: built from SQLite in {build:.2f} s; {index.entry_count:,} entries, {index.gram_count:,} grams; peak RSS {rss_index / 1024:.0f} MB "
          f"(+{(rss_index - rss_before) / 1024:.0f} MB for the index)")

    ours = run(lambda q: _ours(index, q), queries)
    choices, owners = [], []
    for c in customers:
        for text in (c.name, *c.aliases):
            choices.append(text)
            owners.append(c.id)

    def baseline(q: str) -> int | None:
        found = process.extractOne(q, choices, scorer=fuzz.WRatio, processor=utils.default_process)
        return owners[found[2]] if found else None

    base = run(baseline, queries)
    print()
    print(f"{'':28}{'ours':>12}{'baseline':>12}{'ratio':>10}")
    for label, key in (("p50 latency (ms)", "p50"), ("p95 latency (ms)", "p95")):
        print(f"{label:28}{ours[key]:12.2f}{base[key]:12.2f}{base[key] / ours[key]:9.1f}x")
    print(f"{'top-1 accuracy (%)':28}{ours['acc']:12.1f}{base['acc']:12.1f}{ours['acc'] - base['acc']:+9.1f}pt")
    print(f"{'  without domain/e-mail':28}{ours['acc_names']:12.1f}{base['acc_names']:12.1f}"
          f"{ours['acc_names'] - base['acc_names']:+9.1f}pt")
    print()
    print(f"{'kind of query':28}{'n':>6}{'ours %':>10}{'base %':>10}{'ours p95 ms':>13}")
    for kind in sorted(ours["kinds"]):
        n, ok, lat = ours["kinds"][kind]
        _, base_ok, _ = base["kinds"][kind]
        print(f"{kind:28}{n:6}{100 * ok / n:10.1f}{100 * base_ok / n:10.1f}{percentile(lat, 0.95):13.2f}")
    misses = [(kind, text, c) for (c, kind, text), good in zip(queries, ours["correct"], strict=True) if not good]
    if misses:
        print(f"\nsome misses of ours ({len(misses)}):")
        names = {c.id: c.name for c in customers}
        for kind, text, cid in misses[:12]:
            got = index.search(text, limit=1)
            print(f"  [{kind}] {text!r} → {got[0].customer.name if got else None!r} ({got[0].score if got else 0}); "
                  f"wanted {names[cid]!r}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\npeak RSS of the whole run: {peak / 1024:.0f} MB")
    targets = ours["p95"] <= 20 and ours["acc"] >= 95 and ours["acc"] > base["acc"]
    print("targets (p95 ≤ 20 ms, top-1 ≥ 95 % and above the baseline):", "met" if targets else "NOT met")


def _ours(index: CustomerIndex, query: str) -> int | None:
    found = index.search(query, limit=5)
    return found[0].customer.id if found else None


def run(find, queries: list[tuple[int, str, str]]) -> dict:  # type: ignore[no-untyped-def, type-arg]
    latencies: list[float] = []
    correct: list[bool] = []
    kinds: dict[str, list] = defaultdict(lambda: [0, 0, []])  # type: ignore[type-arg]
    for cid, kind, text in queries:
        started = time.perf_counter()
        got = find(text)
        elapsed = (time.perf_counter() - started) * 1000
        latencies.append(elapsed)
        correct.append(got == cid)
        bucket = kinds[kind]
        bucket[0] += 1
        bucket[1] += got == cid
        bucket[2].append(elapsed)
    names_only = [ok for (_, kind, _), ok in zip(queries, correct, strict=True) if kind not in ("domain", "e-mail")]
    return {
        "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95),
        "acc": 100 * sum(correct) / len(correct), "acc_names": 100 * sum(names_only) / max(1, len(names_only)),
        "kinds": dict(kinds), "correct": correct, "counts": Counter(k for _, k, _ in queries),
    }


if __name__ == "__main__":
    main()
