"""The guide's naming conventions and the corrected suggestions sent with a nudge.

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
