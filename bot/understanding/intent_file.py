"""Read and validate intent files (YAML or JSON). Errors name the line; nothing is half-imported.

The format (also what `python -m bot intents export` writes) is a list of intents:

    - id: faq_eye_drops             # required, unique
      question: 人工泪液怎么用         # required: the merchant's summary, shown to customers
      examples: [人工泪液一天滴几次]   # other ways customers ask
      answer: 每次1-2滴,一天不超过6次  # required for FAQs (built-ins have handlers instead)
      keywords: [人工泪液]             # optional: words that, all present, favour this intent
      threshold: 60                   # optional: how sure (0-100) the matcher must be
      terms: [人工泪液, 玻尿酸]        # optional: the shop's own words (products, brands) to
                                      # cut whole; they apply to every intent, in every worker
      questions: {en: How to use the eye drops}   # optional: the question in other languages
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REQUIRED = ("id", "question")
OPTIONAL = ("examples", "answer", "keywords", "threshold", "terms", "questions")


class IntentFileError(ValueError):
    """An intent file that cannot be imported; the message names the line."""


class IntentDocs(list):
    """Validated intents in file order, with where each one is (`where[id]` = "file, line 3")
    so later checks (an id a built-in already uses) can name the line too."""

    def __init__(self, docs: list[dict[str, Any]], where: dict[str, str]) -> None:
        super().__init__(docs)
        self.where = where


def load_intent_file(path: Path, require_answer: bool = True) -> IntentDocs:
    """Parse and validate a file; returns clean intent dicts in file order."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntentFileError(f"{path}: cannot read: {exc}") from exc
    return parse_intents(text, str(path), require_answer)


def parse_intents(
    text: str, source: str = "<input>", require_answer: bool = True
) -> IntentDocs:
    """Parse and validate intents from text; `source` names the file in errors."""
    items, lines = _load(text, source)
    if not isinstance(items, list):
        raise IntentFileError(f"{source}: expected a list of intents at the top level")
    seen: dict[str, int] = {}
    where_of: dict[str, str] = {}
    clean = []
    for index, item in enumerate(items):
        line = lines[index] if index < len(lines) else 0
        where = f"{source}, line {line}" if line else f"{source}, item {index + 1}"
        clean.append(_validate(item, where, require_answer))
        intent_id = clean[-1]["id"]
        if intent_id in seen:
            raise IntentFileError(
                f"{where}: duplicate id {intent_id!r} (first at line {seen[intent_id]})"
            )
        seen[intent_id] = line
        where_of[intent_id] = where
    return IntentDocs(clean, where_of)


def dump_intents(intents: list[dict[str, Any]], fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(intents, ensure_ascii=False, indent=2) + "\n"
    return yaml.safe_dump(intents, allow_unicode=True, sort_keys=False, width=1000)


def _load(text: str, source: str) -> tuple[Any, list[int]]:
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IntentFileError(f"{source}, line {exc.lineno}: bad JSON: {exc.msg}") from exc
        except RecursionError:
            raise IntentFileError(f"{source}: JSON nested too deep") from None
        return data, _json_item_lines(text, data)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise IntentFileError(f"{source}{line}: bad YAML: {problem}") from exc
    except RecursionError:
        raise IntentFileError(f"{source}: YAML nested too deep") from None
    lines = []
    if isinstance(node, yaml.SequenceNode):
        lines = [child.start_mark.line + 1 for child in node.value]
    return data, lines


def _json_item_lines(text: str, data: Any) -> list[int]:
    # JSON has no node marks: find each item's opening brace at the top level of the array.
    if not isinstance(data, list):
        return []
    lines, depth, line, in_string, escape = [], 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            escape = (ch == "\\") and not escape
            if ch == '"' and not escape:
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth == 2 and ch == "{":
                lines.append(line)
        elif ch in "]}":
            depth -= 1
    return lines


def _validate(item: Any, where: str, require_answer: bool) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise IntentFileError(f"{where}: each intent must be a mapping with id and question")
    unknown = set(item) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise IntentFileError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    fields = (*REQUIRED, "answer") if require_answer else REQUIRED
    for name in fields:
        value = item.get(name)
        if not isinstance(value, str | int) or not str(value).strip():
            raise IntentFileError(f"{where}: missing or empty {name!r}")
    clean: dict[str, Any] = {
        "id": str(item["id"]).strip(),
        "question": str(item["question"]).strip(),
    }
    for name in ("examples", "keywords", "terms"):
        value = item.get(name, [])
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise IntentFileError(f"{where}: {name!r} must be a list of strings")
        values = [str(v).strip() for v in value if str(v).strip()]
        if values:
            clean[name] = values
    if item.get("answer") is not None:
        clean["answer"] = str(item["answer"]).strip()
    if item.get("threshold") is not None:
        threshold = item["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                or not 0 <= threshold <= 100:
            raise IntentFileError(f"{where}: 'threshold' must be a number from 0 to 100")
        clean["threshold"] = float(threshold)
    questions = item.get("questions")
    if questions is not None:
        if not isinstance(questions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip()
            for k, v in questions.items()
        ):
            raise IntentFileError(
                f"{where}: 'questions' must map a language code to a question, e.g. {{en: ...}}")
        if questions:
            clean["questions"] = {k.strip(): v.strip() for k, v in questions.items()}
    return clean
