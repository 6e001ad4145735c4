"""The console's wording in Chinese and English (`i18n/<lang>.yaml`), Chinese by default."""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

import yaml

LANGS = ("zh-CN", "en")
DEFAULT = "zh-CN"
FOLDER = Path(__file__).with_name("i18n")


@cache
def table(lang: str) -> dict[str, str]:
    path = FOLDER / f"{lang}.yaml"
    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text("utf-8")) or {}).items()}


def translate(lang: str, key: str, **values: object) -> str:
    """The text for `key` in `lang`, else in Chinese, else the key itself (a missing entry
    shows up in the page instead of breaking it)."""
    text = table(lang if lang in LANGS else DEFAULT).get(key) or table(DEFAULT).get(key) or key
    return string.Formatter().vformat(text, (), _Keep(values)) if values else text


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
