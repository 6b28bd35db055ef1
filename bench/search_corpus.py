"""A generated archive for the search benchmark: N messages (~30 % Chinese), written straight into the
tables with executemany (no mail parsing), then indexed in bulk by the real SearchIndex.

Deterministic for a seed. English text draws Zipf-distributed words from a trade vocabulary plus a
long tail of made-up words (each in a handful of messages, for "rare word" queries); Chinese text
runs trade words (发票, 补发, 不锈钢球阀, …) and filler characters together without spaces, as Chinese
mail does. Document numbers (PO 4xxxxx, PI-2026-xxxx, B/L NGBxxxxxxxx) recur within an order's mail.
"""

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta


def _words(text: str) -> list[str]:
    return text.split()


COMMON = _words("""the to and of a in for please we you is on with our your this be are as at will it by from have
that not can order price delivery valve quotation sample payment date shipment time best regards thank
thanks dear mr ms kindly confirm send find attached attachment goods container production inspection
quality drawing model size material steel stainless brass cast iron pressure flange thread seat stem
body ball gate check globe butterfly pcs units quantity moq fob cif ningbo shanghai port vessel eta etd
booking freight forwarder customs invoice packing list bill lading deposit balance copy week days month
schedule plan loading factory workshop test report certificate warranty complaint leakage leaking repair
replacement spare parts discount offer revised final approved update question answer meeting call visit
trade fair catalogue brochure new project tender customer end user market europe germany usa mexico
turkey poland japan denmark sweden portugal contract terms conditions bank transfer proforma commercial
purchase request urgent soon asap today tomorrow next last earlier later again already still also only
more less than about around approximately total unit cost currency usd eur rmb exchange rate increase
decrease raw casting machining assembly painting coating marking label carton pallet box wooden case
weight net gross volume cbm dimensions photo photos video check checked problem issue solution reply
team manager sales merchandiser engineer technical support after service information details please
note remark regarding following below above mentioned hope well good fine ok sure yes no maybe""")

PHRASES = [
    "please confirm the delivery date", "payment terms 30% T/T deposit balance against B/L copy",
    "find attached our purchase order", "the goods are ready for inspection", "please send the packing list",
    "commercial invoice and packing list attached", "we need your best price", "sample approved",
    "delivery time 35 days after deposit", "the container is loaded", "request for quotation",
    "proforma invoice attached", "quality problem with the last shipment", "spare parts for the stem seal",
    "third party inspection report", "pressure test certificate", "trade fair in Hannover",
]

ZH_WORDS = _words("""发票 补发 报价 返修 交期 样品 付款 订单 质量 包装 退货 验货 模具 出货 尾款 定金 合同 客户 工厂 价格
不锈钢 装箱单 报价单 止回阀 说明书 合格证 集装箱 截止阀 原产地 检验员 供应商 交货期 生产线 铸造件 预付款
球阀 闸阀 蝶阀 法兰 阀门 阀体 阀座 密封圈 压力 测试 报告 图纸 材质 铸铁 黄铜 螺纹 尺寸 数量 单价 总价
美元 欧元 人民币 汇率 船期 订舱 货代 报关 提单 海运费 宁波港 上海港 装柜 托盘 纸箱 木箱 唛头 标签 照片
视频 漏水 破损 投诉 赔偿 折扣 备件 更换 维修 售后 确认 安排 生产 发货 到货 收货 检查 问题 方案 回复 联系
谢谢 您好 麻烦 尽快 今天 明天 下周 上周 本月 年底 新项目 招标 展会 目录 样本 询价 采购 经理 业务员 跟单""")
ZH_FILLER = "的了是在有我们你他这个那些和与及请将把被对于从到以为所可能会要需得着过也都还就很更最已经再又"
ZH_PUNCT = "，。、；：！？"
PRODUCTS = [("Ball Valve", "BV", "球阀"), ("Gate Valve", "GV", "闸阀"), ("Butterfly Valve", "BF", "蝶阀"),
            ("Check Valve", "CV", "止回阀"), ("Globe Valve", "GL", "截止阀")]
STAFF = [("Amy Zhang", "amy"), ("Li Wei", "li"), ("Chen Hao", "chen.sales"), ("Lucy Wang", "lucy"),
         ("Mei Liu", "mei.merch"), ("Tom Xu", "tom"), ("Sam Huang", "sam"), ("Grace Sun", "grace")]
DOMAIN = "hengda-valves.com"
MAILBOXES = ["inquiry", "order", "support", "shipping", "audit"]
MAILBOX_WEIGHTS = [30, 32, 15, 12, 3]
CATEGORIES = ["po", "delivery", "shipping", "exception"]
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_DAYS = 3 * 365


def tail_words(count: int, rng: random.Random) -> list[str]:
    """Made-up words (never real English), each used by a handful of messages."""
    onsets = _words("b br c cl d dr f fl g gr k kl m n p pl pr s st t tr v z")
    vowels = _words("a e i o u ai ou ei")
    codas = _words("n r l s x m k nd rt")
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < count:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 3))) + rng.choice(codas)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Corpus:
    def __init__(self, size: int, *, seed: int = 20260301, customers: int = 3000):
        self.size = size
        self.rng = random.Random(seed)
        rng = self.rng
        self.tail = tail_words(max(20_000, size // 5), rng)
        weights = [1 / (rank + 1) ** 0.9 for rank in range(len(COMMON))]
        self.en_sentences = [
            " ".join(rng.choices(COMMON, weights=weights, k=rng.randint(6, 18))).capitalize() + "."
            for _ in range(20_000)
        ] + [p.capitalize() + "." for p in PHRASES] * 400
        zh_weights = [1 / (rank + 1) ** 0.6 for rank in range(len(ZH_WORDS))]
        self.zh_sentences = []
        for _ in range(12_000):
            parts = []
            for _ in range(rng.randint(3, 9)):
                parts.append(rng.choices(ZH_WORDS, weights=zh_weights, k=1)[0])
                parts.append("".join(rng.choices(ZH_FILLER, k=rng.randint(0, 3))))
            self.zh_sentences.append("".join(parts) + rng.choice(ZH_PUNCT))
        self.customers = []
        for number in range(customers):
            stem = self.tail[number].capitalize()
            chinese = number % 3 == 0
            name = f"{stem}{'阀门有限公司' if chinese else rng.choice([' GmbH', ' Ltd', ' Trading', ' S.A.', ' Inc'])}"
            self.customers.append((number + 1, name, f"{stem.lower()}-trade.{'cn' if chinese else 'com'}", chinese))

    # -- customers ----------------------------------------------------------------------------
    def customer_rows(self) -> list[tuple[object, ...]]:
        return [(cid, name, json.dumps([domain]), "[]", json.dumps([f"buyer@{domain}"]), "", "bench", "2023-01-01T00:00:00Z")
                for cid, name, domain, _zh in self.customers]

    # -- messages -----------------------------------------------------------------------------
    def po_of(self, index: int) -> int:
        return 400_000 + index // 8

    @staticmethod
    def bl_of(po: int) -> str:
        return f"NGB{po:06d}{(po * 7) % 100:02d}"

    @staticmethod
    def pi_of(po: int) -> str:
        return f"PI-2026-{po % 10000:04d}"

    def messages(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[tuple[object, ...], list[tuple[object, ...]]]]:
        """(messages row, sightings rows) for ids start+1 … stop."""
        rng = self.rng
        stop = self.size if stop is None else stop
        for index in range(start, stop):
            pk = index + 1
            chinese = rng.random() < 0.30
            cid, cname, cdomain, _zh = self.customers[rng.randrange(len(self.customers))]
            product, code, zh_product = PRODUCTS[index % len(PRODUCTS)]
            po = self.po_of(index)
            staff_name, staff_local = STAFF[rng.randrange(len(STAFF))]
            staff = f"{staff_local}@{DOMAIN}"
            contact = f"buyer@{cdomain}"
            roll = rng.random()
            direction = "inbound" if roll < 0.55 else ("outbound" if roll < 0.95 else "internal")
            mailbox = rng.choices(MAILBOXES, weights=MAILBOX_WEIGHTS, k=1)[0]
            boxes = [mailbox] + ([rng.choice(MAILBOXES)] if rng.random() < 0.2 else [])
            with_numbers = mailbox in ("order", "shipping") or rng.random() < 0.2
            subject, body = (self._chinese if chinese else self._english)(product, code, zh_product, po, cname,
                                                                          with_numbers)
            if direction == "inbound":
                from_addr, from_name, to = contact, cname.split()[0], [f"{mailbox}@{DOMAIN}"]
            elif direction == "outbound":
                from_addr, from_name, to = staff, staff_name, [contact]
            else:
                from_addr, from_name, to = staff, staff_name, [f"sales-team@{DOMAIN}"]
            cc = [f"{b}@{DOMAIN}" for b in boxes] if direction != "inbound" else []
            attachments = []
            if with_numbers and rng.random() < 0.6:
                attachments = [{"name": n, "type": "application/pdf", "size": 40_000} for n in
                               rng.sample([f"PO-{po}.pdf", f"{self.pi_of(po)}.pdf", f"BL-{self.bl_of(po)}.pdf",
                                           f"CI-{po}.pdf", f"PL-{po}.pdf"], k=rng.randint(1, 3))]
            elif rng.random() < 0.15:
                attachments = [{"name": rng.choice(["photos.zip", f"{code}-DN50-USD-30d-V1.pdf", "drawing.dwg"]),
                                "type": "application/octet-stream", "size": 90_000}]
            moment = START + timedelta(days=SPAN_DAYS * index / self.size, minutes=rng.randrange(600))
            category = rng.choice(CATEGORIES) if mailbox == "order" else None
            row = (
                pk, f"bench-{pk}@{cdomain}", moment.strftime("%Y-%m-%dT%H:%M:%SZ"), 480, from_addr, from_name,
                json.dumps(to), json.dumps(cc), subject, subject.lower(), direction, cid if direction != "internal" else None,
                body, json.dumps(attachments, ensure_ascii=False), int(bool(attachments)), len(body), category,
                "2026-03-01T00:00:00Z",
            )
            folder = "Sent" if direction == "outbound" else "INBOX"
            sightings = [(pk, f"{b}@{DOMAIN}", folder) for b in dict.fromkeys(boxes)]
            yield row, sightings

    def _english(self, product: str, code: str, zh: str, po: int, customer: str, numbers: bool) -> tuple[str, str]:
        rng = self.rng
        kind = rng.randrange(6)
        date = f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        subject = [
            f"[RFQ]-{customer.split()[0]}-{product}-{date}", f"PO {po} - {product} {code}-DN50",
            f"Shipping documents PO {po}: B/L, invoice, packing list", f"Re: Quotation {product} {code}",
            f"Leaking {product} on PO {po}", f"Re: delivery schedule {product}",
        ][kind]
        sentences = rng.choices(self.en_sentences, k=rng.randint(4, 12))
        sentences.insert(rng.randrange(len(sentences) + 1), " ".join(rng.choices(self.tail, k=2)) + ".")
        if numbers:
            sentences.append(f"PO {po}, {self.pi_of(po)}, B/L {self.bl_of(po)}.")
        return subject, f"Dear {customer.split()[0]},\n\n" + " ".join(sentences) + "\n\nBest regards"

    def _chinese(self, product: str, code: str, zh: str, po: int, customer: str, numbers: bool) -> tuple[str, str]:
        rng = self.rng
        subject = rng.choice([f"采购订单 PO {po} - {zh}", f"关于{zh}的报价", f"质量问题:{zh} 漏水 PO {po}",
                              f"发票和装箱单 PO {po}", f"回复: {zh}交期确认", f"[RFQ]-{customer}-{zh}"])
        sentences = rng.choices(self.zh_sentences, k=rng.randint(3, 10))
        if rng.random() < 0.5:
            sentences.append(" ".join(rng.choices(self.tail, k=1)) + "。")
        if numbers:
            sentences.append(f"PO {po},{self.pi_of(po)},提单 {self.bl_of(po)}。")
        return subject, "您好，\n\n" + "".join(sentences) + "\n\n谢谢"


MESSAGE_COLUMNS = ("id, message_id, date, date_offset, from_addr, from_name, to_addrs, cc_addrs, subject, subject_norm, "
                   "direction, customer_id, body, attachments, has_attachments, size, category, archived_at")
