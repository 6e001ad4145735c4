"""Mask personal data before it is shown: phone numbers and addresses."""

from __future__ import annotations

ADDRESS_KEEP = 6


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; anything too short to mask partly is hidden entirely."""
    if len(phone) < 7:
        return "****" if phone else ""
    return f"{phone[:3]}****{phone[-4:]}"


def mask_address(address: str) -> str:
    """Keep the beginning (province, city), hide the rest: 浙江省杭州市西湖… → 浙江省杭州市****."""
    if not address:
        return ""
    return address[:ADDRESS_KEEP] + "****"
