"""A realistic, deterministic mail history for the demo factory (and the tests that use it).

Threads follow the guide's flows: inquiries to inquiry@ answered from personal mailboxes with inquiry@
in CC, POs and shipping documents through order@, after-sales through support@ and its aliases with our
auto-reply first, plus the noise that must never start an SLA clock: bounces, a newsletter, internal mail.
Times are relative to `now`, so the demo always has fresh waiting mail.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

DOMAIN = "hengda-valves.com"
INQUIRY, ORDER, SUPPORT, SHIPPING, AUDIT = (f"{n}@{DOMAIN}" for n in ("inquiry", "order", "support", "shipping", "audit"))


@dataclass
class Party:
    name: str
    address: str


@dataclass
class DemoCustomer:
    company: str
    contact: Party
    owner: Party
    chinese: bool = False


US = {
    "amy": Party("Amy Zhang", f"amy@{DOMAIN}"),
    "li": Party("Li Wei", f"li@{DOMAIN}"),
    "chen": Party("Chen Hao", f"chen.sales@{DOMAIN}"),
    "lucy": Party("Lucy Wang", f"lucy@{DOMAIN}"),
    "mei": Party("Mei Liu", f"mei.merch@{DOMAIN}"),
    "tom": Party("Tom Xu", f"tom@{DOMAIN}"),
    "sam": Party("Sam Huang", f"sam@{DOMAIN}"),
    "grace": Party("Grace Sun", f"grace@{DOMAIN}"),
}

CUSTOMERS = [
    DemoCustomer("Acme", Party("Hans Weber", "hans.weber@acme-trading.de"), US["amy"]),
    DemoCustomer("Mueller Soehne", Party("Klaus Müller", "k.mueller@mueller-soehne.de"), US["li"]),
    DemoCustomer("Huatong", Party("张伟", "zhangwei@huatong-trade.cn"), US["chen"], chinese=True),
    DemoCustomer("PacRim", Party("Sarah Miller", "purchasing@pacrim-imports.com"), US["chen"]),
    DemoCustomer("Nordic Flow", Party("Erik Lindqvist", "erik@nordicflow.se"), US["lucy"]),
    DemoCustomer("Istanbul Vana", Party("Mehmet Yılmaz", "satinalma@istanbulvana.com.tr"), US["lucy"]),
    DemoCustomer("Polarm", Party("Piotr Nowak", "zakupy@polarm.pl"), US["amy"]),
    DemoCustomer("Grupo Hidraulico", Party("Luis García", "compras@grupohidraulico.mx"), US["amy"]),
    DemoCustomer("Lisboa Valvulas", Party("João Silva", "geral@lisboavalvulas.pt"), US["li"]),
    DemoCustomer("CPH Pumps", Party("Mette Jensen", "indkob@cphpumps.dk"), US["li"]),
    DemoCustomer("Ahmed Trading", Party("Ahmed Al Mansouri", "ahmed.trading2019@gmail.com"), US["chen"]),
    DemoCustomer("Tokyo Kikai", Party("田中 一郎", "tanaka@tokyokikai.co.jp"), US["li"]),
    DemoCustomer("Ruhr Industrie", Party("Anna Schmidt", "a.schmidt@ruhr-industrie.de"), US["lucy"]),
    DemoCustomer("杭州东方机电", Party("王芳", "wangfang@dongfang-me.cn"), US["chen"], chinese=True),
]

PRODUCTS = [
    ("Ball Valve", "BV-DN50", "球阀"),
    ("Gate Valve", "GV-DN100", "闸阀"),
    ("Butterfly Valve", "BF-DN150", "蝶阀"),
    ("Check Valve", "CV-DN80", "止回阀"),
    ("Globe Valve", "GL-DN65", "截止阀"),
]


@dataclass
class DemoMail:
    raw: bytes
    message_id: str


@dataclass
class _Builder:
    rng: random.Random
    now: datetime
    mails: list[DemoMail] = field(default_factory=list)

    def send(
        self,
        sender: Party,
        to: list[str],
        subject: str,
        body: str,
        when: datetime,
        *,
        cc: list[str] | None = None,
        reply_to: EmailMessage | None = None,
        headers: dict[str, str] | None = None,
        attachments: list[tuple[str, bytes]] | None = None,
        delivered_to: str | None = None,
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = f"{sender.name} <{sender.address}>"
        msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = make_msgid(idstring=f"{self.rng.randrange(10**9)}", domain=sender.address.split("@")[1])
        if delivered_to:
            msg["Delivered-To"] = delivered_to
        if reply_to is not None:
            msg["In-Reply-To"] = reply_to["Message-ID"]
            msg["References"] = " ".join(filter(None, [reply_to.get("References"), reply_to["Message-ID"]]))
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        for filename, data in attachments or []:
            msg.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
        self.mails.append(DemoMail(bytes(msg), msg["Message-ID"].strip("<>")))
        return msg

    def ago(self, hours: float) -> datetime:
        return self.now - timedelta(hours=hours)


def generate(now: datetime, *, seed: int = 7, rounds: int = 4) -> list[DemoMail]:
    """Several hundred messages ending just before `now` (deterministic for a seed and `now`)."""
    builder = _Builder(random.Random(seed), now)
    for round_no in range(rounds):
        base = 24 * 14 * (rounds - round_no)
        for i, customer in enumerate(CUSTOMERS):
            product = PRODUCTS[(i + round_no) % len(PRODUCTS)]
            offset = base + i * 7
            _inquiry(builder, customer, product, offset, answered=True)
            _order(builder, customer, product, offset - 100, number=4500 + round_no * 40 + i)
            if i % 3 == round_no % 3:
                _support(builder, customer, product, offset - 60, number=4400 + round_no * 40 + i, solved=True)
    _waiting_now(builder)
    _noise(builder)
    return builder.mails


def _inquiry(b: _Builder, c: DemoCustomer, product: tuple[str, str, str], hours_ago: float, *, answered: bool) -> None:
    name, model, zh = product
    date = b.ago(hours_ago).strftime("%Y%m%d")
    if c.chinese:
        subject = f"[RFQ]-{c.company}-{zh}-{date}"
        body = f"您好,\n\n我们需要 {model} {zh} 500 台的报价,请报FOB宁波价格和交期。\n\n谢谢\n{c.contact.name}"
    else:
        subject = f"[RFQ]-{c.company}-{name}-{date}"
        body = (f"Hello,\n\nplease send your best quotation for 500 pcs {name} {model}, FOB Ningbo, "
                f"with delivery time and payment terms.\n\nBest regards,\n{c.contact.name}\n{c.company}")
    first = b.send(c.contact, [INQUIRY], subject, body, b.ago(hours_ago))
    if not answered:
        return
    quote = f"{model.replace('-', '')}-{model}-USD-30d-V1.pdf"
    reply_body = (f"Dear {c.contact.name.split()[0]},\n\nthank you for your inquiry. Please find our quotation attached: "
                  f"{name} {model}, USD 23.50/pc FOB Ningbo, valid 30 days, payment terms 30% T/T deposit, "
                  f"balance against B/L copy. Delivery 35 days.\n\nBest regards,\n{c.owner.name}")
    if c.chinese:
        reply_body = f"{c.contact.name} 您好,\n\n附件是{zh}的报价单,FOB宁波,报价有效期30天,付款方式30%预付。\n\n{c.owner.name}"
    quote_mail = b.send(c.owner, [c.contact.address], f"Re: {subject}", reply_body, b.ago(hours_ago - 5),
                        cc=[INQUIRY], reply_to=first, attachments=[(quote, b"%PDF-1.4 quotation")])
    thanks = "Thanks, we will check and revert." if not c.chinese else "收到,谢谢,我们确认后回复。"
    b.send(c.contact, [c.owner.address], f"Re: {subject}", thanks, b.ago(hours_ago - 20), cc=[INQUIRY],
           reply_to=quote_mail)


def _order(b: _Builder, c: DemoCustomer, product: tuple[str, str, str], hours_ago: float, *, number: int) -> None:
    name, model, zh = product
    merch = US["mei"] if number % 2 else US["tom"]
    if c.chinese:
        po = b.send(c.contact, [ORDER], f"采购订单 PO {number} - {zh}", f"附件是PO {number},请确认交期。\n{c.contact.name}",
                    b.ago(hours_ago), cc=[c.owner.address], attachments=[(f"PO-{number}.pdf", b"%PDF po")])
    else:
        po = b.send(c.contact, [ORDER], f"PO {number} - {name} {model}",
                    f"Please find attached our purchase order PO {number} for 500 pcs {name}.\n"
                    f"Kindly confirm the delivery date.\n\n{c.contact.name}",
                    b.ago(hours_ago), cc=[c.owner.address], attachments=[(f"PO-{number}.pdf", b"%PDF po")])
    confirm = b.send(merch, [c.contact.address], f"Re: {po['Subject']}",
                     f"Dear customer,\n\nPO confirmation: we confirm PO {number}, delivery date in 35 days. "
                     f"PI-2026-{number % 1000:03d} attached.\n\n{merch.name}",
                     b.ago(hours_ago - 6), cc=[ORDER, c.owner.address],
                     reply_to=po, attachments=[(f"PI-2026-{number % 1000:03d}.pdf", b"%PDF pi")])
    if number % 4 == 0:
        confirm = b.send(merch, [c.contact.address], f"Delivery date change / 交期变更 PO {number}",
                         f"Sorry, due to casting delay the delivery date of PO {number} moves by 7 days.\n{merch.name}",
                         b.ago(hours_ago - 48), cc=[ORDER], reply_to=confirm)
    b.send(merch, [c.contact.address], f"Shipping documents PO {number}: B/L, invoice, packing list",
           f"Dear customer,\n\nthe goods of PO {number} are loaded. Attached B/L NGB{number}8821, commercial invoice "
           f"and packing list.\n\n{merch.name}",
           b.ago(hours_ago - 200), cc=[ORDER, SHIPPING], reply_to=confirm,
           attachments=[(f"BL-NGB{number}8821.pdf", b"%PDF bl"), (f"CI-{number}.pdf", b"%PDF ci"),
                        (f"PL-{number}.pdf", b"%PDF pl")])


def _support(b: _Builder, c: DemoCustomer, product: tuple[str, str, str], hours_ago: float, *, number: int,
             solved: bool) -> EmailMessage:
    name, model, zh = product
    alias = ("rma", "complaint", "spare", "support")[number % 4]
    address = f"{alias}@{DOMAIN}"
    if c.chinese:
        subject, body = f"质量问题:{zh} 漏水 PO {number}", f"你们发来的{zh}有10台漏水,请尽快处理补发。\n{c.contact.name}"
    else:
        subject = f"Leaking {name} on PO {number}"
        body = f"Hello,\n\n12 pcs of {name} {model} from PO {number} are leaking at the stem. Photos attached.\n\n{c.contact.name}"
    complaint = b.send(c.contact, [address], subject, body, b.ago(hours_ago), delivered_to=address,
                       attachments=[("photos.pdf", b"%PDF photos")])
    _auto_reply(b, complaint, hours_ago - 0.01)
    if not solved:
        return complaint
    handler = US["sam"] if number % 2 else US["grace"]
    ack = b.send(handler, [c.contact.address], f"Re: {subject}",
                 f"Dear {c.contact.name},\n\nwe are sorry for the trouble and are checking with QA.\n{handler.name}",
                 b.ago(hours_ago - 3), cc=[SUPPORT], reply_to=complaint)
    b.send(handler, [c.contact.address], f"Re: {subject}",
           f"Dear {c.contact.name},\n\nconclusion: we will send 12 pcs replacement (补发) with the next shipment "
           f"and grant a 5% discount on PO {number}.\n{handler.name}",
           b.ago(hours_ago - 30), cc=[SUPPORT, AUDIT], reply_to=ack)
    return complaint


def _auto_reply(b: _Builder, original: EmailMessage, hours_ago: float) -> None:
    sender = Party("Hengda After-sales 售后", SUPPORT)
    b.send(sender, [str(original["From"])], f"Auto: {original['Subject']}",
           "We received your mail and will answer within 24 hours (initial solution within 48 hours). "
           "Please include order number, batch number, photos/videos and delivery address.\n"
           "我们已收到您的邮件,将在24小时内首次响应,48小时内给出初步方案。",
           b.ago(hours_ago), reply_to=original, headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"})


def _waiting_now(b: _Builder) -> None:
    """Fresh mail that waits on us at `now`: the demo's SLA board is never empty."""
    acme, huatong, nordic, polarm, tokyo, pacrim = (CUSTOMERS[i] for i in (0, 2, 4, 6, 11, 3))
    _inquiry(b, polarm, PRODUCTS[0], 30, answered=False)
    _inquiry(b, nordic, PRODUCTS[2], 20, answered=False)
    _inquiry(b, huatong, PRODUCTS[1], 50, answered=False)
    _support(b, acme, PRODUCTS[0], 26, number=4777, solved=False)
    _support(b, tokyo, PRODUCTS[3], 60, number=4778, solved=False)
    b.send(pacrim.contact, [ORDER], "PO 4599 - urgent: can you advance the shipment?",
           "Dear team, our customer needs the goods earlier. Can you ship PO 4599 one week earlier?\nSarah",
           b.ago(10), cc=[pacrim.owner.address])
    lisboa = CUSTOMERS[8]
    first = b.send(lisboa.contact, [INQUIRY], "Pedido de cotação - válvulas de esfera",
                   "Bom dia, please quote 200 ball valves DN25, stainless steel.\nJoão", b.ago(40))
    b.send(lisboa.contact, [INQUIRY], "Re: Pedido de cotação - válvulas de esfera",
           "Any news on our request?\nJoão", b.ago(8), reply_to=first)


def _noise(b: _Builder) -> None:
    """Mail that must never start an SLA clock."""
    for i in range(6):
        b.send(Party("Mail Delivery System", "MAILER-DAEMON@mx.hengda-valves.com"), [f"amy@{DOMAIN}"],
               "Undelivered Mail Returned to Sender",
               f"This is the mail system at host mx.hengda-valves.com.\n\nI'm sorry to have to inform you that your "
               f"message could not be delivered to buyer{i}@old-customer{i}.com: user unknown.",
               b.ago(100 + i * 50), headers={"Auto-Submitted": "auto-replied"})
    for i in range(8):
        b.send(Party("Valve World News", "news@valve-world.net"), [INQUIRY], f"Valve World Weekly #{120 + i}",
               "This week: new API 6D rules, steel prices, trade fair calendar. Unsubscribe at any time.",
               b.ago(24 * 7 * i + 3), headers={"List-Id": "<weekly.valve-world.net>",
                                               "List-Unsubscribe": "<mailto:leave@valve-world.net>",
                                               "Precedence": "bulk"})
    for i in range(10):
        b.send(US["amy"], [f"sales-team@{DOMAIN}"], f"Weekly sales meeting {i + 1} / 销售周会",
               "Agenda: open inquiries, quotations pending, trade fair follow-up.", b.ago(24 * 7 * i + 30))
