"""Mask personal data before it is shown: phone numbers and addresses."""

from __future__ import annotations

import re

SHOWN_TAIL = 4
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# A mainland address starts with its region: a province-level name (北京市, 浙江省, 广西壮族自治区,
# 香港特别行政区) and/or a city-level one (杭州市, 延边朝鲜族自治州, 锡林郭勒盟, 阿里地区).
# No digits and no separators inside, so nothing past the city can be kept by accident.
_REGION_CHAR = r"[^\d\s,,、;;#号路街巷弄村区县镇乡栋室楼]"
_CN_REGION = re.compile(
    rf"(?:{_REGION_CHAR}{{1,8}}?(?:省|自治区|特别行政区))?"
    rf"(?:{_REGION_CHAR}{{1,8}}?(?:市|自治州|盟|地区))?"
)
_DIGIT = re.compile(r"\d")
_CJK = re.compile(r"[\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]")


def mask_phone(phone: str) -> str:
    """At most the last four digits show, and never more than half of them; an 11-digit
    mainland mobile also keeps its 3-digit network prefix, as customers are used to:
    13812345678 → 138****5678, 1234567 → ****567, 12345 → ***45."""
    if not phone:
        return ""
    if _MOBILE.fullmatch(phone):
        return f"{phone[:3]}****{phone[-4:]}"
    shown = min(SHOWN_TAIL, len(phone) // 2)
    return "*" * (len(phone) - shown) + (phone[-shown:] if shown else "")


def mask_address(address: str) -> str:
    """Keep only the region, hide the rest: 浙江省杭州市西湖区… → 浙江省杭州市****.

    A Latin-script address ("100 Main St, Springfield, IL 62704") keeps the parts after its
    first comma (the street line), digits hidden: ****, Springfield, IL *****. Anything else
    (one line, or a Chinese address without a region) is hidden whole.
    """
    address = address.strip()
    if not address:
        return ""
    region = _CN_REGION.match(address)
    if region and region.group():
        return region.group() + "****"
    parts = [part.strip() for part in address.split(",")]
    rest = [part for part in parts[1:] if part]
    if rest and not _CJK.search(address):
        return ", ".join(["****", *(_DIGIT.sub("*", part) for part in rest)])
    return "****"
