"""Reply wording as data: `replies/<lang>.yaml` maps a template name to its text."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

SUPPORTED_LANGS = ("zh-CN", "en")


TEXT = "text"
TRANSFER = "transfer"   # hand the conversation to WeChat's human customer-service seats


@dataclass(frozen=True)
class Reply:
    """What a handler answers. `text` is always set: a transfer that cannot be carried by a
    passive reply (a late one goes through 客服消息) falls back to it."""

    text: str
    kind: str = TEXT


class _Blank(dict):
    # A template naming a value the handler did not give renders it empty, not a crash.
    def __missing__(self, key: str) -> str:
        log.warning("reply template wants missing value %r", key)
        return ""


class Replies:
    """Loads every language's templates once; renders by name with a fallback language."""

    def __init__(self, folder: Path, default_lang: str = "zh-CN") -> None:
        self.default_lang = default_lang
        self.templates: dict[str, dict[str, str]] = {}
        for lang in SUPPORTED_LANGS:
            # `<lang>.yaml` holds the core wording; `<area>.<lang>.yaml` files add an area's own.
            paths = [folder / f"{lang}.yaml", *sorted(folder.glob(f"*.{lang}.yaml"))]
            table: dict[str, str] = {}
            for path in paths:
                if not path.exists():
                    continue
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                for name, text in data.items():
                    if name in table:
                        raise ValueError(f"reply template {name!r} defined twice ({path.name})")
                    table[str(name)] = str(text).rstrip("\n")
            if table:
                self.templates[lang] = table
        if default_lang not in self.templates:
            raise FileNotFoundError(f"no reply templates for {default_lang} in {folder}")

    def has(self, name: str) -> bool:
        return name in self.templates[self.default_lang]

    def text(self, name: str, lang: str | None = None, **data: Any) -> str:
        """Render template `name` in `lang` (falling back to the default language)."""
        table = self.templates.get(lang or self.default_lang, {})
        template = table.get(name) or self.templates[self.default_lang].get(name)
        if template is None:
            raise KeyError(f"no reply template named {name!r}")
        return template.format_map(_Blank(data))

    def render(self, name: str, lang: str | None = None, **data: Any) -> Reply:
        return Reply(self.text(name, lang, **data))


def normalise_lang(value: str | None, default: str = "zh-CN") -> str:
    """Map WeChat's language codes (zh_CN, en, zh_TW...) to a supported template language."""
    if not value:
        return default
    value = value.replace("_", "-").lower()
    if value.startswith("en"):
        return "en"
    if value.startswith("zh"):
        return "zh-CN"
    return default

