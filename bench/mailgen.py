"""Fast synthetic mail for benchmarks: English and Chinese business mail, threads, attachments.

Raw RFC 5322 bytes are built from string templates (EmailMessage is too slow for 100,000 messages).
"""

import base64
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

OURS = "hengda-valves.com"
PEOPLE = ["amy", "li", "chen.sales", "lucy", "mei.merch", "tom", "sam", "grace"]
MAILBOXES = ["inquiry", "order", "support", "rma", "complaint", "spare"]
EN_WORDS = ["valve", "ball", "gate", "butterfly", "check", "globe", "stainless", "steel", "flange", "quotation", "price", "delivery", "shipment", "invoice", "packing", "list", "bill", "of", "lading", "proforma", "purchase", "order", "sample", "confirmation", "payment", "terms", "deposit", "balance", "container", "loading", "plan", "customs", "inspection", "pressure", "test", "leakage", "replacement", "repair", "discount", "warranty", "drawing", "certificate", "material", "casting", "forging", "seat", "stem", "gasket", "actuator", "handle", "order", "schedule", "production"]
ZH_WORDS = ["球阀", "闸阀", "蝶阀", "止回阀", "截止阀", "不锈钢", "法兰", "报价", "价格", "交期", "出货", "发票", "装箱单", "提单", "形式发票", "采购订单", "样品", "确认", "付款", "定金", "尾款", "集装箱", "装柜", "报关", "验货", "压力测试", "漏水", "补发", "返修", "折扣", "质保", "图纸", "证书", "材质", "铸造", "锻造", "阀座", "阀杆", "垫片", "执行器", "排产"]
DOMAINS = [f"customer{i}.{tld}" for i, tld in zip(range(2000), ["com", "de", "cn", "co.uk", "fr", "it", "es", "jp"] * 250, strict=False)]


def _text(rng: random.Random, chinese: bool, size: int) -> str:
    words = ZH_WORDS if chinese else EN_WORDS
    sep = "" if chinese else " "
    parts: list[str] = []
    length = 0
    while length < size:
        line = sep.join(rng.choice(words) for _ in range(rng.randint(6, 14)))
        line += "。" if chinese else "."
        parts.append(line)
        length += len(line.encode("utf-8")) + 1
    return "\n".join(parts)


def generate(count: int, *, seed: int = 1, start: datetime | None = None) -> Iterator[bytes]:
    """`count` messages, ~5 KB on average, ~30 % Chinese, threads of 1–6, 10 % with an attachment."""
    rng = random.Random(seed)
    when = start or datetime(2025, 1, 1, tzinfo=UTC)
    produced = 0
    thread = 0
    while produced < count:
        thread += 1
        domain = rng.choice(DOMAINS)
        customer = f"buyer{rng.randint(1, 5)}@{domain}"
        person = rng.choice(PEOPLE)
        mailbox = rng.choice(MAILBOXES)
        chinese = rng.random() < 0.3
        subject = (f"询价 {rng.choice(ZH_WORDS)} PO {rng.randint(1000, 9999)}" if chinese
                   else f"RFQ {rng.choice(EN_WORDS)} {rng.choice(EN_WORDS)} PO {rng.randint(1000, 9999)}")
        parent: str | None = None
        refs: list[str] = []
        for turn in range(rng.randint(1, 6)):
            if produced >= count:
                return
            when += timedelta(minutes=rng.randint(1, 30))
            inbound = turn % 2 == 0
            msgid = f"{thread}.{turn}.{rng.getrandbits(40):x}@{domain if inbound else OURS}"
            sender = customer if inbound else f"{person}@{OURS}"
            to = f"{mailbox}@{OURS}" if inbound else customer
            cc = "" if inbound else f"Cc: {mailbox}@{OURS}\r\n"
            headers = (
                f"From: {sender}\r\nTo: {to}\r\n{cc}Subject: {'Re: ' if turn else ''}{subject}\r\n"
                f"Date: {format_datetime(when)}\r\nMessage-ID: <{msgid}>\r\n"
            )
            if parent:
                headers += f"In-Reply-To: <{parent}>\r\nReferences: {' '.join(f'<{r}>' for r in refs)}\r\n"
            body = _text(rng, chinese, rng.randint(1500, 6500))
            encoded = base64.encodebytes(body.encode("utf-8")).decode() if chinese else body
            cte = "base64" if chinese else "8bit"
            if rng.random() < 0.1:
                attachment = base64.encodebytes(rng.randbytes(rng.randint(500, 3000))).decode()
                raw = (
                    f"{headers}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b{msgid}\"\r\n\r\n"
                    f"--b{msgid}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
                    f"{encoded}\r\n--b{msgid}\r\nContent-Type: application/pdf\r\n"
                    f"Content-Disposition: attachment; filename=\"Invoice-{thread}.pdf\"\r\n"
                    f"Content-Transfer-Encoding: base64\r\n\r\n{attachment}\r\n--b{msgid}--\r\n"
                )
            else:
                raw = (f"{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       f"Content-Transfer-Encoding: {cte}\r\n\r\n{encoded}\r\n")
            refs.append(msgid)
            parent = msgid
            produced += 1
            yield raw.encode("utf-8")
