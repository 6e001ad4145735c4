"""Chinese replies in Chinese typography: full-width ，。！？：；（） and “” beside Chinese text.

Templates, merchants' FAQ answers and order data are written with whatever punctuation their
authors typed; this runs on every Chinese reply, so none of them has to get it right. ASCII
punctuation is only changed where Chinese is on one side of it: times (15:00), amounts
(1,299.00), ranges (1-5), links and English phrases keep theirs.
"""

from __future__ import annotations

import re

_FULL = {",": "，", ":": "：", ";": "；", "!": "！", "?": "？", "(": "（", ")": "）",
         "~": "～"}
_URL = re.compile(r"https?://\S+")
_QUOTE_SPAN = re.compile(r'"([^"\n]{1,40})"')
_BRACKETS = re.compile(r"\(([^()\n]{0,80})\)")


def _cjk(ch: str) -> bool:
    return bool(ch) and ("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f"
                         or "\uff00" <= ch <= "\uffef" or ch in "“”")


def full_width(text: str) -> str:
    """`text` with ASCII punctuation beside Chinese made full-width (links untouched)."""
    out: list[str] = []
    at = 0
    for url in _URL.finditer(text):
        out.append(_convert(text[at:url.start()]))
        out.append(url.group())
        at = url.end()
    out.append(_convert(text[at:]))
    return "".join(out)


def _convert(text: str) -> str:
    if not text:
        return text
    # A quoted phrase with Chinese in or beside it: "物流" → “物流”.
    text = _QUOTE_SPAN.sub(
        lambda m: f"“{m.group(1)}”" if any(_cjk(c) for c in m.group(1)) else m.group(0), text)
    text = _BRACKETS.sub(lambda m: _bracket(text, m), text)
    chars = list(text)
    n = len(chars)
    for i, ch in enumerate(chars):
        full = _FULL.get(ch)
        if full is None:
            continue
        before = _neighbour(chars, i, -1)
        after = _neighbour(chars, i, 1)
        if ch in ":," and before.isdigit() and after.isdigit():
            continue   # 15:00, 1,299
        if ch in "()":
            continue   # pairs are done above; a lone one is left as typed
        if not _cjk(before) and not (ch in ",:;" and _cjk(after)):
            continue
        chars[i] = full
        # The space an ASCII writer leaves after a comma has no place after a full-width one.
        if full in "，：；！？～" and i + 1 < n and chars[i + 1] == " " and ch != ":":
            chars[i + 1] = ""
    return "".join(chars)


def _neighbour(chars: list[str], i: int, step: int) -> str:
    j = i + step
    while 0 <= j < len(chars) and chars[j] == " ":
        j += step
    return chars[j] if 0 <= j < len(chars) else ""


def _bracket(text: str, m: re.Match) -> str:
    """A bracketed aside in or beside Chinese gets full-width brackets."""
    inner = m.group(1)
    before = text[m.start() - 1] if m.start() > 0 else ""
    after = text[m.end()] if m.end() < len(text) else ""
    if any(_cjk(c) for c in inner) or _cjk(before) or _cjk(after):
        return f"（{inner}）"
    return m.group(0)


def mostly_chinese(text: str) -> bool:
    """More Chinese characters than Latin letters: Chinese text, whatever the reply language."""
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return han > latin
