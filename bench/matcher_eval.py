"""Accuracy of the matcher on labelled queries: built-in intents plus an FAQ file.

    python bench/matcher_eval.py [--faq tests/data/eval/faq.yaml]
                                 [--queries tests/data/eval/dev_queries.tsv]
                                 [--heldout… PATH: one flag per development set, `HELDOUT`]
                                 [--final bench/final9_queries.tsv] [--no-final] [--only NAME]
                                 [--fixed-threshold] [--all] [--show-final]

One run measures every set with the same figures. All but the last are development sets: each
has been looked at while changing the matcher, so each flatters it; their wrong answers are
listed (and every miss with --all).
- dev (`--queries`): written with the matcher;
- held-out 1-8: each written from `faq.yaml` (and the built-in intents' names) only, by
  someone who saw neither the matcher nor the other sets, then read after it was measured.
  Held-out 2 was long labelled "final (never tuned on)": it shares 13 sentences word for word
  with sets that were tuned on and was read after each round, so it is a development set too.
  Held-out 5 was measured once before the round that read it (bench/README.md).
  Held-out 5b (`final5_queries.tsv`) was the final set of the 2026-12-03 round: measured
  before and after it, so it is a development set now (its misses were not read then).
  Held-out 6 (`dev6_queries.tsv`) and 6b (`final6_queries.tsv`, the final set of the first
  round of 2026-12-04, measured before and after it) were written by one writer.
  Held-out 7 (`dev7_queries.tsv`) and 7b (`final7_queries.tsv`, the final set of the second
  round of 2026-12-04, measured before and after it) were written by one writer.
  Held-out 8 (`dev8_queries.tsv`) and 8b (`final8_queries.tsv`, the final set of the third
  round of 2026-12-04, measured before and after it) were written by one writer.
  Held-out 9 (`dev9_queries.tsv`) was written with the final set below by the same writer.
- final (`--final`, bench/final9_queries.tsv): written with held-out 9 by the same writer,
  never opened by anyone changing the matcher. Only its totals are printed; its wrong answers
  only with --show-final, which whoever tunes the matcher must not use. Measure it once, at
  the end of a round; once anyone has read it, it is a development set and a new one is due.

Figures per set (in-domain = labelled with an intent id, `none` = should stay unmatched), each
with its 95% Wilson interval (the sets are small: 5 wrong answers in 125 is 1.7-9.0%):
- right: in-domain queries "matched" with the right intent. An "ambiguous" outcome (the bot
  asks "您是想问:1…2…") is not a right answer, even when the right intent is first; nor a
  wrong one.
- wrong: in-domain queries answered ("matched") with another intent: the costly error, the
  customer acts on it.
- off-topic unmatched: `none` queries left "unmatched". One that comes out ambiguous counts
  as not unmatched (the bot asked a question it should not have).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.understanding.acceptance import DEFAULT_BAR  # noqa: E402
from bot.understanding.intent_file import load_intent_file  # noqa: E402
from bot.understanding.matcher import IntentSpec, Matcher  # noqa: E402
from bot.understanding.normalise import warm_up  # noqa: E402

DEFAULT_FAQ = ROOT / "tests" / "data" / "eval" / "faq.yaml"
DEFAULT_QUERIES = ROOT / "tests" / "data" / "eval" / "dev_queries.tsv"
BENCH = ROOT / "bench"
DEFAULT_FINAL = BENCH / "final9_queries.tsv"
# (name, flag, file): the development sets besides the dev set, in the order they were written.
HELDOUT = [("held-out", "heldout", "heldout_queries.tsv"),
           ("held-out 2", "heldout2", "heldout2_queries.tsv"),
           ("held-out 3", "heldout3", "heldout3_queries.tsv"),
           ("held-out 4", "heldout4", "heldout4_queries.tsv"),
           ("held-out 5", "heldout5", "heldout5_queries.tsv"),
           ("held-out 5b", "heldout5b", "final5_queries.tsv"),
           ("held-out 6", "heldout6", "dev6_queries.tsv"),
           ("held-out 6b", "heldout6b", "final6_queries.tsv"),
           ("held-out 7", "heldout7", "dev7_queries.tsv"),
           ("held-out 7b", "heldout7b", "final7_queries.tsv"),
           ("held-out 8", "heldout8", "dev8_queries.tsv"),
           ("held-out 8b", "heldout8b", "final8_queries.tsv"),
           ("held-out 9", "heldout9", "dev9_queries.tsv")]
Z95 = 1.959964


def load_specs(faq: Path) -> list[IntentSpec]:
    builtin = load_intent_file(ROOT / "intents" / "builtin.yaml", require_answer=False)
    specs = [IntentSpec.from_dict(d, builtin=True) for d in builtin]
    return specs + [IntentSpec.from_dict(d) for d in load_intent_file(faq)]


def load_matcher(faq: Path, fixed_threshold: bool = False) -> Matcher:
    return Matcher(load_specs(faq), bar=None if fixed_threshold else DEFAULT_BAR)


def development_sets(queries: Path = DEFAULT_QUERIES) -> list[tuple[str, Path]]:
    """The development sets that exist, in the order they were written (no final set)."""
    sets = [("dev", queries)]
    sets += [(name, BENCH / file) for name, _, file in HELDOUT if (BENCH / file).exists()]
    return sets


def load_queries(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(row["text"], row["intent"].strip()) for row in rows if row.get("text")]


def evaluate(matcher: Matcher, queries: list[tuple[str, str]], show_all: bool = False
             ) -> tuple[dict[str, int], list[str], list[str]]:
    """Counts for the figures, the lines of the wrong answers, and those of every other miss
    (and of every query with show_all)."""
    n = dict.fromkeys(("in_domain", "correct", "wrong", "ambiguous_right", "ambiguous_other",
                       "missed", "none_total", "none_unmatched"), 0)
    wrong: list[str] = []
    lines: list[str] = []
    for text, label in queries:
        result = matcher.match(text)
        top = result.candidates[0][0] if result.candidates else None
        line = (f"  {text!r:36} want {label:20} got {result.outcome:9} "
                f"{result.intent or '-':20} {list(result.candidates)}")
        if label == "none":
            n["none_total"] += 1
            ok = result.outcome == "unmatched"
            n["none_unmatched"] += ok
        else:
            n["in_domain"] += 1
            ok = result.outcome == "matched" and result.intent == label
            n["correct"] += ok
            if result.outcome == "matched" and not ok:
                n["wrong"] += 1
                wrong.append("✗ " + line.strip())
                continue
            elif result.outcome == "ambiguous":
                n["ambiguous_right" if top == label else "ambiguous_other"] += 1
            elif result.outcome == "unmatched":
                n["missed"] += 1
        if not ok or show_all:
            lines.append(("   " if ok else "✗ ") + line.strip())
    return n, wrong, lines


def summed(matcher: Matcher, query_sets: Iterable[list[tuple[str, str]]]) -> Counter[str]:
    """`evaluate`'s counts over several sets together."""
    total: Counter[str] = Counter()
    for queries in query_sets:
        total.update(evaluate(matcher, queries)[0])
    return total


def summary(counts: Mapping[str, int]) -> str:
    """Right / wrong / off-topic unmatched on one line, as counts."""
    return (f"right {counts['correct']}/{counts['in_domain']}  wrong {counts['wrong']}  "
            f"off-topic unmatched {counts['none_unmatched']}/{counts['none_total']}")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion k/n (0-1)."""
    if not n:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pct(k: int, n: int) -> str:
    if not n:
        return "  n/a"
    low, high = wilson(k, n)
    return f"{100.0 * k / n:5.1f}% ({k}/{n}, 95% CI {100 * low:.1f}-{100 * high:.1f})"


def report(title: str, n: dict[str, int]) -> None:
    print(f"\n{title}")
    print(f"right (in-domain, matched right)      {pct(n['correct'], n['in_domain'])}"
          f"   target ≥ 90%")
    print(f"wrong (in-domain, matched wrong)      {pct(n['wrong'], n['in_domain'])}"
          f"   target ≤ 2%")
    print(f"off-topic left unmatched              "
          f"{pct(n['none_unmatched'], n['none_total'])}   target ≥ 90%")
    print(f"  in-domain asked (right one first)   {pct(n['ambiguous_right'], n['in_domain'])}")
    print(f"  in-domain asked (right not first)   {pct(n['ambiguous_other'], n['in_domain'])}")
    print(f"  in-domain left unmatched            {pct(n['missed'], n['in_domain'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faq", type=Path, default=DEFAULT_FAQ)
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    for _, flag, name in HELDOUT:
        parser.add_argument(f"--{flag}", type=Path, default=BENCH / name)
    parser.add_argument("--final", type=Path, default=DEFAULT_FINAL)
    parser.add_argument("--only", help="measure only the development set of this name "
                        "(e.g. 'held-out 6'), and not the final set")
    parser.add_argument("--no-final", action="store_true",
                        help="leave the final set out (what a tuning round runs)")
    parser.add_argument("--fixed-threshold", action="store_true",
                        help="the threshold alone, without the bar (see acceptance.py)")
    parser.add_argument("--all", action="store_true",
                        help="list every query of the development sets, not only misses")
    parser.add_argument("--show-final", action="store_true",
                        help="also list the final set's wrong answers: makes it a development set")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    warm_up()
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    matcher = load_matcher(args.faq, args.fixed_threshold)
    built = time.perf_counter() - started
    sets = [("dev", args.queries, True)]
    for name, flag, _ in HELDOUT:
        path = getattr(args, flag)
        if path.exists():
            sets.append((name, path, True))
    if args.only:
        sets = [entry for entry in sets if entry[0] == args.only]
    if args.final.exists() and not args.no_final and not args.only:
        sets.append(("final (never opened)", args.final, args.show_final))
    print(f"intents: {len(matcher.intents)}  jieba loaded in {loaded * 1000:.0f} ms, "
          f"index built in {built * 1000:.0f} ms")
    listings = []
    for name, path, show in sets:
        queries = load_queries(path)
        counts, wrong, lines = evaluate(matcher, queries, args.all)
        report(f"{name}: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
               f"({len(queries)} queries)", counts)
        if show:
            listings.append((name, wrong, lines))
    for name, wrong, lines in listings:
        if wrong:
            print(f"\n{name} wrong answers:")
            print("\n".join(wrong))
        if lines:
            print(f"\n{name} {'queries' if args.all else 'other misses'}:")
            print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
