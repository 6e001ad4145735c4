"""Fit the matcher's bar (bot/understanding/acceptance.py) on the development sets.

    python bench/fit_acceptance.py [--faq tests/data/eval/faq.yaml] [--c 1.0]

For every query of the development sets (never the final set), the matcher with a fixed
threshold gives its best candidate, the runner-up's score and the message's evidence (topic
words, the share no intent knows, unexplained weight). A logistic regression of "the best
candidate is the right intent" on those is turned into points on the 0-100 score (each
coefficient over the score's own) and printed as a `Bar(...)` to paste into acceptance.py.

It then measures what a fit would do on a set it has not seen: for each development set, a
bar fitted on the others is used by the real matcher on that set (leave one set out), next
to the fixed threshold and the bar in acceptance.py (which was fitted on all of them, so its
own figures flatter it). Needs scikit-learn (bench/requirements.txt).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(Path(__file__).resolve().parent))

from matcher_eval import (  # noqa: E402
    DEFAULT_FAQ,
    development_sets,
    load_queries,
    load_specs,
    summary,
    summed,
)

from bot.understanding.acceptance import DEFAULT_BAR, Bar  # noqa: E402
from bot.understanding.matcher import IntentSpec, Matcher  # noqa: E402
from bot.understanding.normalise import warm_up  # noqa: E402

Row = tuple[list[float], int]


def features(matcher: Matcher, queries: list[tuple[str, str]]) -> list[Row]:
    """(score, runner-up, topic words, unknown share, unexplained), and 1 when the best
    candidate is the labelled intent; queries with no candidate are left out."""
    rows = []
    for text, label in queries:
        result = matcher.match(text)
        if not result.candidates or result.evidence is None:
            continue
        scores = [score for _, score in result.candidates] + [0.0]
        e = result.evidence
        rows.append(([scores[0], scores[1], e.topic_words, e.unknown_share, e.unexplained],
                     int(result.candidates[0][0] == label)))
    return rows


def fit(rows: list[Row], c: float) -> Bar:
    model = LogisticRegression(C=c, max_iter=10_000)
    model.fit([x for x, _ in rows], [y for _, y in rows])
    score, runner_up, topic, unknown, unexplained = model.coef_[0]
    # The bar is where the logit is 0: score = -(intercept + the rest) / score's coefficient;
    # relative to the default threshold of 50.
    return Bar(base=round(float(-model.intercept_[0] / score) - 50.0, 2),
               topic_word=round(float(-topic / score), 2),
               unknown=round(float(-unknown / score), 2),
               unexplained=round(float(-unexplained / score), 2),
               runner_up=round(float(-runner_up / score), 3))


def totals(specs: list[IntentSpec], bar: Bar | None,
           sets: list[tuple[str, list[tuple[str, str]]]]) -> Counter[str]:
    return summed(Matcher(specs, bar=bar), (queries for _, queries in sets))


def line(title: str, counts: Counter[str]) -> str:
    return f"{title:44} {summary(counts)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    args = parser.parse_args(argv)
    warm_up()
    specs = load_specs(args.faq)
    fixed = Matcher(specs, bar=None)
    sets = [(name, load_queries(path)) for name, path in development_sets()]
    rows = {name: features(fixed, queries) for name, queries in sets}

    everything = [row for name, _ in sets for row in rows[name]]
    print(f"fitted on {len(everything)} queries of {len(sets)} development sets:")
    print(f"  {fit(everything, args.c)}")
    print(f"in acceptance.py:\n  {DEFAULT_BAR}\n")

    print(line("fixed threshold", totals(specs, None, sets)))
    print(line("acceptance.py's bar (fitted on all)", totals(specs, DEFAULT_BAR, sets)))
    held_out: Counter[str] = Counter()
    for name, queries in sets:
        others = [row for other, _ in sets if other != name for row in rows[other]]
        held_out += totals(specs, fit(others, args.c), [(name, queries)])
    print(line("a bar fitted without the set (leave one out)", held_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
