"""What the shop's staff teach the matcher: quality on a set after staff reviewed its sibling.

    python bench/staff_eval.py [--faq tests/data/eval/faq.yaml]

The issue's strongest signal is the staff's own decisions. This measures them the way a shop
lives them: one writer's set stands for the first days of customers, reviewed by staff in the
console (every in-domain message the bot did not answer right becomes an example of the right
intent, one click; every off-topic message it answered or asked about is dismissed as "not
for the shop", a negative), then the same writer's other set, the next days' customers, is
measured with what they taught. Each pair is run both ways. Before/after are side by side
in one run; the development sets' own misses are what staff would see, so this is no
untouched measurement, and the sets of one writer share ideas as one shop's customers do.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matcher_eval import (  # noqa: E402
    BENCH,
    DEFAULT_FAQ,
    load_queries,
    load_specs,
    summary,
    summed,
)

from bot.understanding.matcher import IntentSpec, Matcher  # noqa: E402
from bot.understanding.normalise import warm_up  # noqa: E402

# Sets of one writer, in the order they were written.
PAIRS = [("held-out 5", "heldout5_queries.tsv", "held-out 5b", "final5_queries.tsv"),
         ("held-out 6", "dev6_queries.tsv", "held-out 6b", "final6_queries.tsv"),
         ("held-out 7", "dev7_queries.tsv", "held-out 7b", "final7_queries.tsv"),
         ("held-out 8", "dev8_queries.tsv", "held-out 8b", "final8_queries.tsv")]


def reviewed(specs: list[IntentSpec], queries: list[tuple[str, str]]
             ) -> tuple[list[IntentSpec], list[str], int, int]:
    """The intents and negatives after staff reviewed `queries` as the bot answered them, and
    how many examples and negatives they added."""
    matcher = Matcher(specs)
    examples: dict[str, list[str]] = {}
    negatives: list[str] = []
    for text, label in queries:
        result = matcher.match(text)
        if label == "none":
            if result.outcome != "unmatched":
                negatives.append(text)
        elif result.outcome != "matched" or result.intent != label:
            examples.setdefault(label, []).append(text)
    taught = [IntentSpec.from_dict({**spec.to_dict(),
                                    "examples": [*spec.examples, *examples.get(spec.id, [])]},
                                   builtin=spec.builtin)
              for spec in specs]
    return taught, negatives, sum(map(len, examples.values())), len(negatives)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    args = parser.parse_args(argv)
    warm_up()
    specs = load_specs(args.faq)
    plain = Matcher(specs)
    totals: dict[str, Counter[str]] = {"before": Counter(), "after": Counter()}
    for first, first_file, second, second_file in PAIRS:
        a, b = BENCH / first_file, BENCH / second_file
        if not (a.exists() and b.exists()):
            continue
        for (seen, seen_path), (measured, measured_path) in (
                ((first, a), (second, b)), ((second, b), (first, a))):
            queries = load_queries(measured_path)
            taught, negatives, n_examples, n_negatives = reviewed(specs,
                                                                  load_queries(seen_path))
            before = summed(plain, [queries])
            after = summed(Matcher(taught, negatives=negatives), [queries])
            print(f"{measured} after staff reviewed {seen} "
                  f"({n_examples} examples, {n_negatives} negatives):")
            print(f"  before  {summary(before)}")
            print(f"  after   {summary(after)}")
            totals["before"] += before
            totals["after"] += after
    for name, n in totals.items():
        right, wrong, unmatched = n["correct"], n["wrong"], n["none_unmatched"]
        print(f"all pairs, {name:6}  right {right}/{n['in_domain']} "
              f"({100 * right / n['in_domain']:.1f}%)  wrong {wrong} "
              f"({100 * wrong / n['in_domain']:.1f}%)  off-topic unmatched "
              f"{unmatched}/{n['none_total']} ({100 * unmatched / n['none_total']:.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
