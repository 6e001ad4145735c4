"""Masks for what must never be written in full to a log: user ids, phones, secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable

# WeChat openids/unionids: "o" + 27 URL-safe base64 characters (also in dedup keys).
_OPENID = re.compile(r"(?<![A-Za-z0-9_-])(o[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{19,}([A-Za-z0-9_-]{2})"
                     r"(?![A-Za-z0-9_-])")
# A mainland mobile, alone or inside a longer text ("+8613812345678", "tel:13812345678").
_MOBILE = re.compile(r"(?<![0-9])((?:86)?1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def mask_id(value: str) -> str:
    """oAbc1…9z: enough to tell users apart in a log, not enough to address one."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:5]}…{value[-2:]}"


class Redactor:
    """Rewrites a log line: openids and mobiles masked, configured secrets replaced whole."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Short values (a 4-char demo token) would mangle ordinary words; real secrets are long.
        words = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, words))) if words else None

    def __call__(self, line: str) -> str:
        if self._secrets is not None:
            line = self._secrets.sub("[secret]", line)
        line = _OPENID.sub(r"\1…\2", line)
        return _MOBILE.sub(r"\1****\2", line)
