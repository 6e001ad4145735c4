"""How a Chinese character is read (toneless pinyin), for homophone typos ("快第" for 快递).

Pinyin input methods make customers type a word that sounds like the one they meant. The
readings come from pypinyin's single-character table (pinyin-data); its phrase table, 50+ MB
once loaded, is never imported. The table is reduced to one syllable number per character of
the CJK Unified Ideographs block (the first, commonest reading, tones dropped) and written
once per machine next to jieba's trimmed dictionary, so a worker holds 42 KB instead of the
~9 MB the JSON takes to parse.
"""

from __future__ import annotations

import importlib.util
import json
import os
import tempfile
import threading
import unicodedata
from array import array
from pathlib import Path

FIRST, LAST = 0x4E00, 0x9FFF
_lock = threading.Lock()
_table: array | None = None


def reading(text: str) -> tuple[int, ...] | None:
    """The syllable numbers of a run of Chinese characters (same number = same toneless
    reading), or None when a character has no known reading."""
    table = _table if _table is not None else _load()
    out = []
    for char in text:
        code = ord(char)
        if not FIRST <= code <= LAST:
            return None
        syllable = table[code - FIRST]
        if not syllable:
            return None
        out.append(syllable)
    return tuple(out)


def _source() -> Path:
    spec = importlib.util.find_spec("pypinyin")   # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("pypinyin")
    return Path(spec.submodule_search_locations[0]) / "pinyin_dict.json"


def _load() -> array:
    global _table
    with _lock:
        if _table is not None:
            return _table
        source = _source()
        stat = source.stat()
        cached = Path(tempfile.gettempdir()) / (
            f"bot-pinyin-{stat.st_size}-{int(stat.st_mtime)}.bin")
        table = array("H")
        try:
            table.frombytes(cached.read_bytes())
        except OSError:
            table = _build(source)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(table.tobytes())
            partial.replace(cached)   # atomically: several workers may start together
        if len(table) != LAST - FIRST + 1:
            table = _build(source)
        _table = table
        return table


def _build(source: Path) -> array:
    readings = json.loads(source.read_text(encoding="utf-8"))
    numbers: dict[str, int] = {}
    table = array("H", bytes(2 * (LAST - FIRST + 1)))
    for key, value in readings.items():
        code = int(key)
        if FIRST <= code <= LAST:
            first = value.split(",")[0]
            plain = "".join(c for c in unicodedata.normalize("NFD", first)
                            if not unicodedata.combining(c))
            table[code - FIRST] = numbers.setdefault(plain, len(numbers) + 1)
    return table
