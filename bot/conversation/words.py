"""The word lists in `intents/dialogue.yaml`, loaded once per file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


@lru_cache(maxsize=4)
def load_words(intents_dir: Path) -> dict[str, Any]:
    data = yaml.safe_load((intents_dir / "dialogue.yaml").read_text(encoding="utf-8")) or {}
    lower = _lowered(data)
    return lower


def _lowered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lowered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [str(v).lower() for v in value]
    return value


def contains_any(text: str, words: list[str]) -> bool:
    return any(word in text for word in words)
