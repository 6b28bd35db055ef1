"""The guide's naming conventions, which mail they apply to, and the corrected suggestions sent with a nudge.

Which mail: `[rules] subject_convention` —
- "new_threads" (the default): mail we write that carries a quotation (a quotation file, or
  quotation/报价/PI words in our own text) or that starts a new thread to a customer in an inquiry mailbox
  about an offer (offer/price/RFQ words or a configured product; not a greeting); order and after-sales
  mail (PO confirmations with their PI, shipping documents, complaint conclusions) is not judged;
- "quotations": only mail that carries a quotation;
- "all_outbound": every mail we write in an inquiry thread (what Mailroom did before: noisy);
- "off".
Never a reply that keeps the customer's subject: renaming it mid-thread is not what the guide asks (its
template is for the quotations and RFQ mails we write, 方便搜索与复盘) and breaks threading in the
customer's mail client.

- Subject of our inquiry mail: `[RFQ]-Customer-Product-Date` (邮件主题:[RFQ]-客户名-产品-日期). Replies are
  judged without their Re:/回复: prefix. Date: YYYYMMDD (also accepted: YYYY-MM-DD, YYMMDD).
- Quotation files: `Product-Model-Currency-Validity-Version` (报价单命名:产品-型号-币种-有效期-版本), e.g.
  `BallValve-BV-DN50-USD-30d-V1.pdf`. The model may itself contain hyphens; currency is an ISO code;
  validity is a number of days (30d, 30days, 30天) or a date; the version is V1, V2, v1.1.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.mail.parse import normalize_subject
from bot.rules.text import has_cjk

CURRENCIES = ("USD", "EUR", "CNY", "RMB", "GBP", "JPY", "AUD", "CAD", "CHF", "HKD", "SGD", "AED", "SAR", "INR",
              "RUB", "TRY", "BRL", "MXN", "KRW", "SEK", "DKK", "NOK", "PLN", "ZAR", "THB", "MYR", "IDR", "VND")
_CUR = "|".join(CURRENCIES)
_DATE = r"(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{6})"
SUBJECT = re.compile(rf"^\s*\[RFQ\]\s*-\s*(?P<customer>[^-\]]+?)\s*-\s*(?P<product>.+?)\s*-\s*(?P<date>{_DATE})\s*$",
                     re.IGNORECASE)
QUOTATION = re.compile(
    rf"^(?P<product>[^-]+)-(?P<model>.+)-(?P<currency>{_CUR})-(?P<validity>\d+\s*(?:d|days?|天)|{_DATE})"
    rf"-(?P<version>[vV]\d+(?:\.\d+)?)\.[A-Za-z0-9]+$"
)
DOCUMENT = re.compile(r"\.(?:pdf|xlsx?|docx?|ods|odt|csv|numbers|pages)$", re.IGNORECASE)
_RFQ_PREFIX = re.compile(r"^\s*\[RFQ\]\s*-?\s*", re.IGNORECASE)
_MODEL = re.compile(r"\b([A-Z]{1,5}-?(?:DN|PN|NPS)?\d{2,5}[A-Z]?)\b")
_VALID = re.compile(r"(?:valid(?:ity)?(?:\s+for)?\s*[:：]?\s*(\d{1,3})\s*(?:days|d)\b|有效期\s*[:：]?\s*(\d{1,3})\s*天)",
                    re.IGNORECASE)
_CURRENCY_WORDS = {"$": "USD", "usd": "USD", "us$": "USD", "€": "EUR", "eur": "EUR", "euro": "EUR", "rmb": "RMB",
                   "cny": "CNY", "人民币": "RMB", "美元": "USD", "欧元": "EUR", "£": "GBP", "gbp": "GBP"}
_CURRENCY = re.compile(r"(US\$|\$|€|£|\b(?:USD|EUR|EURO|RMB|CNY|GBP)\b|人民币|美元|欧元)", re.IGNORECASE)


QUOTATION_WORDS = re.compile(
    r"\b(?:quotations?|quoted|quote|proforma|pro[- ]forma|PI|offer sheet|price list)\b|报价|形式发票|报价单|价格表",
    re.IGNORECASE,
)
_QUOTATION_FILE = re.compile(r"quot|offer|price|\bPI\b|^PI[-_ ]|proforma|报价|价格", re.IGNORECASE)


def carries_quotation(text: str, files: list[str]) -> bool:
    """A quotation attachment (a conventional quotation name, or quotation/offer/price/PI in a document's
    name), or quotation words in the sender's own text."""
    for name in files:
        if DOCUMENT.search(name) and (QUOTATION.match(name.strip()) or _QUOTATION_FILE.search(name)):
            return True
    return QUOTATION_WORDS.search(text) is not None


OFFER_WORDS = re.compile(r"\b(?:offers?|prices?|pricing|quotations?|quote|RFQ|inquiry|enquiry|catalogue price)\b"
                         r"|询价|询盘|报价|价格|优惠", re.IGNORECASE)


def about_an_offer(subject: str, text: str, products: list[str]) -> bool:
    """A new thread that offers or asks about products: offer/price/RFQ words, or a configured product named."""
    return OFFER_WORDS.search(f"{subject}\n{text}") is not None or product_of(subject, products) is not None


def subject_applies(scope: str, *, quotation: bool, new_thread: bool, keeps_customer_subject: bool,
                    in_inquiry: bool, offer: bool = True) -> bool:
    """Does the subject convention judge this mail of ours? (See the module docstring.) A new thread counts
    when it is about an offer (`about_an_offer`): a season's greeting or a visit is no RFQ mail."""
    if scope == "off":
        return False
    if scope == "all_outbound":
        return in_inquiry
    if keeps_customer_subject:
        return False
    if scope == "quotations":
        return quotation
    return quotation or (new_thread and in_inquiry and offer)


def subject_ok(subject: str) -> bool:
    return SUBJECT.match(normalize_subject_keep_case(subject)) is not None


def normalize_subject_keep_case(subject: str) -> str:
    """Re:/Fwd:/回复: stripped, case kept (normalize_subject lower-cases)."""
    norm = normalize_subject(subject)
    if not norm:
        return ""
    start = subject.lower().find(norm)
    return subject[start: start + len(norm)] if start >= 0 else norm


def quotation_name_ok(name: str) -> bool:
    return QUOTATION.match(name.strip()) is not None


def product_of(text: str, products: list[str]) -> str | None:
    lowered = text.lower()
    for product in sorted(products, key=len, reverse=True):
        if product.lower() in lowered:
            return product
    return None


def suggest_subject(subject: str, *, customer: str, products: list[str], body: str, when: datetime,
                    zone: str, date_format: str = "%Y%m%d") -> str:
    """`[RFQ]-Customer-Product-Date` from what the mail says: the configured product named in the
    subject or text (else the subject's own words), `when` (the thread's first date) in the organisation's zone."""
    current = normalize_subject_keep_case(subject)
    product = product_of(f"{subject}\n{body}", products)
    if product is None:
        words = _RFQ_PREFIX.sub("", current)
        words = re.sub(r"[-_/|:：]+", " ", words).strip()
        product = " ".join(words.split()[:4]) if words else "Product"
        if has_cjk(product):
            product = product.replace(" ", "")[:12]
    when = when.astimezone(ZoneInfo(zone))
    return f"[RFQ]-{short_customer(customer)}-{product.replace('-', ' ')}-{when.strftime(date_format)}"


def short_customer(name: str) -> str:
    """'Acme Trading GmbH' → 'Acme Trading'; hyphens would break the convention's fields."""
    from bot.customers.book import strip_legal

    cleaned = strip_legal(name) or name
    cleaned = re.sub(r"[-\[\]]+", " ", cleaned)
    return " ".join(cleaned.replace(",", " ").replace(".", " ").split()) or "Customer"


def suggest_file(name: str, *, subject: str, body: str, products: list[str]) -> str:
    """`Product-Model-Currency-Validity-Version.ext`, filled from the mail; unknown parts as placeholders."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, "pdf"
    text = f"{subject}\n{body}\n{stem}"
    product = product_of(text, products) or _product_from_subject(subject) or "Product"
    model_match = _MODEL.search(f"{stem} {subject} {body}")
    model = model_match.group(1) if model_match else "Model"
    currency_match = _CURRENCY.search(f"{stem} {body}")
    currency = _CURRENCY_WORDS.get(currency_match.group(1).lower(), "USD") if currency_match else "USD"
    valid_match = _VALID.search(body)
    validity = f"{valid_match.group(1) or valid_match.group(2)}d" if valid_match else "30d"
    product = re.sub(r"[\s-]+", "", product)
    return f"{product}-{model}-{currency}-{validity}-V1.{ext}"


def _product_from_subject(subject: str) -> str | None:
    match = SUBJECT.match(normalize_subject_keep_case(subject))
    return match.group("product") if match else None
