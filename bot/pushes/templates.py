"""`PUSH_TEMPLATES`: which WeChat template (and one-time subscribe template) carries each kind.

```yaml
order_shipped:
  template_id: TEMPLATE_ID            # a template message (模板消息)
  url: "{link}"                       # optional; fields in braces come from the push
  data: {first: "{fact}", keyword1: "{order_id}", keyword2: "{expected}", remark: "{next}"}
  subscribe:                          # optional: a one-time subscribe notice (订阅通知)
    template_id: SUBSCRIBE_TEMPLATE_ID
    page: "{link}"
    data: {character_string1: "{order_id}", thing2: "{status}"}
merged: {...}                         # optional: several orders in one message
```

A kind with no entry is not sent as a template message. Every value is cut to WeChat's 20
characters.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VALUE_LIMIT = 20


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class TemplateSpec:
    template_id: str
    data: dict[str, str]
    url: str = ""

    def render(self, fields: dict[str, str]) -> tuple[dict[str, dict[str, str]], str]:
        """(WeChat's `data` with each value cut to 20 characters, the url)."""
        def fill(pattern: str) -> str:
            return string.Formatter().vformat(pattern, (), _Blank(fields)).strip()

        data = {name: {"value": cut(fill(pattern))} for name, pattern in self.data.items()}
        return data, fill(self.url) if self.url else ""


@dataclass(frozen=True)
class PushTemplates:
    template: dict[str, TemplateSpec] = field(default_factory=dict)
    subscribe: dict[str, TemplateSpec] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None) -> PushTemplates:
        if not path:
            return cls()
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: expected a mapping of push kind to template")
        template, subscribe = {}, {}
        for kind, entry in raw.items():
            if not isinstance(entry, dict):
                raise ValueError(f"{path}: {kind}: expected a mapping")
            if entry.get("template_id"):
                template[str(kind)] = _spec(path, kind, entry)
            if isinstance(entry.get("subscribe"), dict):
                sub = entry["subscribe"]
                subscribe[str(kind)] = _spec(path, f"{kind}.subscribe",
                                             {**sub, "url": sub.get("page", "")})
        return cls(template, subscribe)

    def template_for(self, kind: str) -> TemplateSpec | None:
        return self.template.get(kind)

    def subscribe_for(self, kind: str) -> TemplateSpec | None:
        return self.subscribe.get(kind)

    def subscribe_ids(self) -> set[str]:
        return {spec.template_id for spec in self.subscribe.values()}


def _spec(path: Any, kind: str, entry: dict[str, Any]) -> TemplateSpec:
    data = entry.get("data") or {}
    if not isinstance(data, dict) or not entry.get("template_id"):
        raise ValueError(f"{path}: {kind}: needs template_id and a data mapping")
    return TemplateSpec(str(entry["template_id"]), {str(k): str(v) for k, v in data.items()},
                        str(entry.get("url") or ""))


def cut(value: str, limit: int = VALUE_LIMIT) -> str:
    """WeChat refuses template values over 20 characters: keep 19 and an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1] + "…"
