"""Order numbers, tracking numbers, carriers, phone numbers and list choices in a message."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.understanding.normalise import normalise


@dataclass(frozen=True)
class Entities:
    order_numbers: tuple[str, ...] = ()     # 6-20 digit runs that are not phone numbers
    tracking_numbers: tuple[str, ...] = ()  # SF1234567890123, YT9876543210987, JD..., long alnum
    carriers: tuple[str, ...] = ()          # canonical carrier codes: SF, YTO, ZTO, YD, STO, ...
    phones: tuple[str, ...] = ()            # mainland mobile numbers 1[3-9]\d{9}
    choice: int | None = None               # a bare "1" / "第二个" reply to a list we showed


# Span kinds, used by the matcher to stand in a placeholder word for the number itself.
ORDER, TRACKING, PHONE = "order", "tracking", "phone"

# Carrier names as customers write them; ASCII names only count as whole words.
_CARRIER_NAMES: dict[str, tuple[str, ...]] = {
    "SF": ("顺丰", "sf", "shunfeng"),
    "YTO": ("圆通", "yto", "yuantong"),
    "ZTO": ("中通", "zto", "zhongtong"),
    "YD": ("韵达", "yunda"),
    "STO": ("申通", "sto", "shentong"),
    "JD": ("京东", "jd", "jingdong"),
    "EMS": ("ems", "邮政", "中国邮政"),
    "JT": ("极兔", "jt", "jitu"),
    "DBL": ("德邦", "deppon"),
    "BEST": ("百世",),
}
_CJK_CARRIERS = [(name, code) for code, names in _CARRIER_NAMES.items()
                 for name in names if not name.isascii()]
_ASCII_CARRIERS = {name: code for code, names in _CARRIER_NAMES.items()
                   for name in names if name.isascii()}
# Letter prefixes that carriers print in front of their waybill numbers.
_TRACKING_PREFIX = {"sf": "SF", "yt": "YTO", "jd": "JD", "jt": "JT", "ems": "EMS", "dpk": "DBL"}

_ALNUM_RUN = re.compile(r"[a-z0-9]+")
_PREFIXED = re.compile(r"(sf|yt|jdv?[a-z]?|jt|ems|dpk)(\d{9,20})")
_UPU = re.compile(r"[a-z]{2}\d{9}[a-z]{2}")   # international postal format, e.g. EA123456789CN
_PHONE = re.compile(r"(?:86)?(1[3-9]\d{9})")
# Words that say a bare digit run is a waybill, not an order.
_WAYBILL_WORDS = ("运单", "快递单", "物流单", "快递号", "单号是快递")
_ORDER_WORDS = ("订单",)

_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_CHOICE = re.compile(
    r"(?:选|选择|我选|要|就|是)?\s*(?:第\s*)?([1-9一二三四五六七八九])\s*(?:个|项|条|种|号|吧)*"
)
_CHOICE_EN = re.compile(r"(?:the\s+)?(?:option\s+|number\s+|no\s+)?"
                        r"([1-9]|first|second|third|fourth|fifth)(?:\s+one)?")


def extract_entities(text: str) -> Entities:
    """The entities of a raw message (normalises it first)."""
    return scan(normalise(text))[0]


def scan(normalised: str) -> tuple[Entities, list[tuple[int, int, str]]]:
    """Entities of already-normalised text, plus the (start, end, kind) spans of the numbers."""
    carriers = _carriers(normalised)
    waybill_context = bool(carriers) or any(w in normalised for w in _WAYBILL_WORDS)
    order_context = any(w in normalised for w in _ORDER_WORDS)
    orders: list[str] = []
    tracking: list[str] = []
    phones: list[str] = []
    spans: list[tuple[int, int, str]] = []
    for run in _ALNUM_RUN.finditer(normalised):
        token = run.group()
        kind = _classify(token, waybill_context and not order_context)
        if kind is None:
            continue
        spans.append((run.start(), run.end(), kind))
        if kind == PHONE:
            phone = _PHONE.fullmatch(token)
            _add(phones, phone.group(1) if phone else token)
        elif kind == ORDER:
            _add(orders, token)
        else:
            _add(tracking, token.upper())
            prefixed = _PREFIXED.fullmatch(token)
            if prefixed:
                code = _TRACKING_PREFIX.get(prefixed.group(1)[:2]) or _TRACKING_PREFIX.get(
                    prefixed.group(1))
                if code:
                    _add(carriers, code)
            elif _UPU.fullmatch(token):
                _add(carriers, "EMS")
    entities = Entities(
        order_numbers=tuple(orders),
        tracking_numbers=tuple(tracking),
        carriers=tuple(carriers),
        phones=tuple(phones),
        choice=_choice(normalised),
    )
    return entities, spans


def _classify(token: str, waybill_context: bool) -> str | None:
    if token.isdigit():
        if _PHONE.fullmatch(token):
            return PHONE
        if 6 <= len(token) <= 20:
            # Pure-digit waybills (中通, 韵达...) look like order numbers; the words around
            # them are the only way to tell.
            return TRACKING if waybill_context and len(token) >= 10 else ORDER
        return None
    if _PREFIXED.fullmatch(token) or _UPU.fullmatch(token):
        return TRACKING
    digits = sum(c.isdigit() for c in token)
    if 10 <= len(token) <= 30 and digits >= 8 and digits < len(token):
        return TRACKING
    return None


def _carriers(normalised: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for name, code in _CJK_CARRIERS:
        at = normalised.find(name)
        if at >= 0:
            found.append((at, code))
    for run in _ALNUM_RUN.finditer(normalised):
        code = _ASCII_CARRIERS.get(run.group())
        if code:
            found.append((run.start(), code))
    out: list[str] = []
    for _, code in sorted(found):
        _add(out, code)
    return out


def _choice(normalised: str) -> int | None:
    match = _CHOICE.fullmatch(normalised)
    if match:
        value = match.group(1)
        return int(value) if value.isdigit() else _NUMERALS[value]
    match = _CHOICE_EN.fullmatch(normalised)
    if match:
        value = match.group(1)
        return int(value) if value.isdigit() else _ORDINALS[value]
    return None


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)
