"""Accuracy of the matcher on labelled queries: built-in intents plus an FAQ file.

    python bench/matcher_eval.py [--faq ../shared/eval/faq.yaml]
                                 [--queries ../shared/eval/dev_queries.tsv] [--all]

Figures (in-domain = labelled with an intent id, `none` = should stay unmatched):
- accuracy: in-domain queries whose outcome is "matched" with the right intent. An
  "ambiguous" outcome is not a correct answer (the customer has to pick), even when the right
  intent is the first option; it is not a wrong answer either.
- wrong: in-domain queries answered ("matched") with another intent.
- none unmatched: `none` queries left "unmatched". A `none` query that comes out ambiguous is
  counted as not unmatched (the bot would ask a question it should not have).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.intent_io import load_intent_file  # noqa: E402
from bot.matcher import IntentSpec, Matcher  # noqa: E402

DEFAULT_FAQ = ROOT / ".." / "shared" / "eval" / "faq.yaml"
DEFAULT_QUERIES = ROOT / ".." / "shared" / "eval" / "dev_queries.tsv"


def load_matcher(faq: Path) -> Matcher:
    builtin = load_intent_file(ROOT / "intents" / "builtin.yaml", require_answer=False)
    specs = [IntentSpec.from_dict(d, builtin=True) for d in builtin]
    specs += [IntentSpec.from_dict(d) for d in load_intent_file(faq)]
    return Matcher(specs)


def load_queries(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(row["text"], row["intent"].strip()) for row in rows if row.get("text")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--all", action="store_true", help="print every query, not only misses")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    matcher = load_matcher(args.faq)
    built = time.perf_counter() - started
    queries = load_queries(args.queries)

    in_domain = correct = wrong = ambiguous_right = ambiguous_other = missed = 0
    none_total = none_unmatched = 0
    misses: list[str] = []
    for text, label in queries:
        result = matcher.match(text)
        top = result.candidates[0][0] if result.candidates else None
        line = (f"  {text!r:36} want {label:20} got {result.outcome:9} "
                f"{result.intent or '-':20} {list(result.candidates)}")
        if label == "none":
            none_total += 1
            ok = result.outcome == "unmatched"
            none_unmatched += ok
        else:
            in_domain += 1
            ok = result.outcome == "matched" and result.intent == label
            correct += ok
            if result.outcome == "matched" and not ok:
                wrong += 1
            elif result.outcome == "ambiguous":
                if top == label:
                    ambiguous_right += 1
                else:
                    ambiguous_other += 1
            elif result.outcome == "unmatched":
                missed += 1
        if not ok or args.all:
            misses.append(("   " if ok else "✗ ") + line.strip())

    def pct(a: int, b: int) -> str:
        return f"{100.0 * a / b:5.1f}% ({a}/{b})" if b else "  n/a"

    print(f"intents: {len(matcher.intents)}  queries: {len(queries)}  "
          f"index built in {built * 1000:.0f} ms (incl. jieba load)")
    print(f"top-1 accuracy (in-domain, matched right)   {pct(correct, in_domain)}   target ≥ 95%")
    print(f"wrong answers (in-domain, matched wrong)    {pct(wrong, in_domain)}   target ≤ 2%")
    print(f"ambiguous, right intent first               {pct(ambiguous_right, in_domain)}")
    print(f"ambiguous, right intent not first           {pct(ambiguous_other, in_domain)}")
    print(f"unmatched in-domain                         {pct(missed, in_domain)}")
    print(f"none left unmatched                         {pct(none_unmatched, none_total)}"
          f"   target ≥ 90%")
    if misses:
        print("\nconfusions:" if not args.all else "\nall queries:")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
