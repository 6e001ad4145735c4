"""Try a question against the FAQs as they would be with an unsaved edit, before saving it.

A trial builds a throwaway Matcher over the stored intents (and the staff's negatives) with
the edited one in place: one index build (about 0.5 s at 1,000 FAQs, 5 s at 10,000;
bench/README.md). The last one is kept, so trying more questions against the same edit costs a
match each. A Matcher keeps the intents' `terms` to itself, so a trial changes nothing the live
matcher sees.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from bot.understanding.intent_store import IntentStore
from bot.understanding.matcher import IntentSpec, Matcher, MatchResult

_lock = threading.Lock()
# (store version, the edit) -> (matcher with the edit, warnings about its new examples)
_last: dict[str, tuple[Matcher, list]] = {}


@dataclass(frozen=True)
class Warning_:
    example: str
    other: str          # the intent the example is closer to
    score: float
    today: bool         # True: the saved FAQs answer it with `other` today


@dataclass(frozen=True)
class Trial:
    question: str
    edited: MatchResult | None      # with the unsaved edit
    saved: MatchResult | None       # with the FAQs as saved
    warnings: list[Warning_]


def _specs(docs: list[dict[str, Any]]) -> list[IntentSpec]:
    return [IntentSpec.from_dict({k: v for k, v in d.items() if k != "builtin"},
                                 builtin=bool(d.get("builtin"))) for d in docs]


def run_trial(store: IntentStore, edit: dict[str, Any], question: str = "",
              original_id: str | None = None) -> Trial:
    """Match `question` with and without `edit`; warn about each new example of the edit that
    another intent claims (in the edited FAQs, or in the saved ones a customer meets today)."""
    stored = store.all()
    replaced = {edit["id"], original_id} - {None}
    edited_docs = [d for d in stored if d["id"] not in replaced] + [edit]
    before = next((d for d in stored if d["id"] in replaced), {})
    new_examples = [e for e in edit.get("examples", []) if e not in before.get("examples", [])]
    saved = store.matcher()
    cache_key = json.dumps([store.version(), original_id, edit], sort_keys=True,
                           ensure_ascii=False)
    with _lock:   # one build at a time per process: each can take seconds on a big shop
        if cache_key in _last:
            matcher, warnings = _last[cache_key]
        else:
            matcher = Matcher(_specs(edited_docs), negatives=store.negatives())
            warnings = []
            for example in new_examples:
                for result, today in ((matcher.match(example), False),
                                      (saved.match(example), True)):
                    other = _claimed_by_other(result, edit["id"])
                    if other:
                        warnings.append(Warning_(example, other[0], other[1], today))
                        break
            _last.clear()
            _last[cache_key] = (matcher, warnings)
    edited_result = matcher.match(question) if question.strip() else None
    saved_result = saved.match(question) if question.strip() else None
    return Trial(question, edited_result, saved_result, warnings)


def _claimed_by_other(result: MatchResult, own: str) -> tuple[str, float] | None:
    """The other intent an example is closer to than to its own, if any."""
    if result.outcome == "matched" and result.intent != own:
        return result.intent, result.score
    if result.outcome == "ambiguous":
        others = [i for i in result.options if i != own]
        if others:
            score = dict(result.candidates).get(others[0], result.score)
            return others[0], score
    if result.candidates and result.candidates[0][0] != own and result.outcome != "unmatched":
        return result.candidates[0]
    return None
