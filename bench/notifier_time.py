"""notifier_time: how far apart in time are duplicates, and what does time add to `similar`'s order?

Customers meet one problem at about the same time; bug reporters too. This replays (as
bench/notifier_replay.py does: the notifier's own vectors, each report's candidates the best
`detection_candidates` of the words and of the meaning over the whole set) `similar`'s order
(ranking.duplicate_order, the shipped function) with the closeness in time given several shares, and with
the closeness standardised in its own spread (no floor) instead of in one of 1 at least:

- GitBugs / Hadoop: each report at its Jira creation time; recall@1 / @5 / @10 of a labelled duplicate;
- StackFAQ: each paraphrase 30 s after the one before, in notifier_quality's shuffled order (times that
  carry nothing about the threads): recall@1 / @10 of another paraphrase of the thread, what a time part
  costs where time tells nothing.

Before that, how far apart the labelled duplicates were opened, against pairs drawn at random.

    .venv/bin/python -m bench.notifier_time   # about 4 minutes here (MPNet encodes 3,128 texts)

The figures of record are notifier_quality's, through the service (its lookups read the postings opened
nearest each report, which an exhaustive replay does not need).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from bench import notifier_replay as replay
from bench.notifier_quality import hadoop, stackfaq
from bench.report import table
from services.notifier.detection import ranking
from services.notifier.detection.service import TUNED

Matrix = NDArray[np.float64]
SHARES = (0.0, 0.1, 0.2, 1 / 3, 0.5)
DAY = 86_400.0


def timed_order(words: Matrix, meaning: Matrix, days: NDArray[np.float64], share: float) -> Matrix:
    """A matrix whose rows order each report's candidates as `similar` does (higher first)."""
    blended = replay.blend(meaning, words, TUNED["mpnet"].meaning_weight)

    def timed(report: int, candidates: NDArray[np.int64]) -> list[int]:
        apart = days[candidates] - days[report]  # signed, as find_similar gives it
        return ranking.duplicate_order(words[report, candidates], meaning[report, candidates], apart, share)

    return replay.candidates_ordered(blended, (words, meaning), timed)


def apart_rows(days: NDArray[np.float64], ids: Sequence[str], duplicates: dict[str, set[str]]) -> list[list[str]]:
    position = {issue: i for i, issue in enumerate(ids)}
    nearest = [min(abs(days[position[a]] - days[position[b]]) for b in others) for a, others in duplicates.items()]
    rng = random.Random(0)
    drawn = [abs(days[rng.randrange(len(ids))] - days[rng.randrange(len(ids))]) for _ in range(20_000)]
    return [
        [f"{limit} days", f"{np.mean(np.asarray(nearest) <= limit):.3f}", f"{np.mean(np.asarray(drawn) <= limit):.4f}"]
        for limit in (1, 7, 30, 90, 365)
    ]


def main() -> str:
    reports = replay.hadoop_set()
    created, _ = hadoop()
    days = np.asarray([created[issue][2].timestamp() / DAY for issue in reports.ids])
    words = replay.lexical(reports.texts)
    meaning = replay.cosines(replay.units(reports.texts, "mpnet"))

    faq = stackfaq()
    faq_texts = [(text, "") for _, text in faq]
    arrival = list(range(len(faq)))
    random.Random(0).shuffle(arrival)  # notifier_quality's order; each report 30 s after the one before
    faq_days = np.empty(len(faq))
    faq_days[arrival] = np.arange(len(faq)) * 30 / DAY
    faq_words, faq_meaning = replay.lexical(faq_texts), replay.cosines(replay.units(faq_texts, "mpnet"))
    faq_ids, mates = [str(i) for i in range(len(faq))], replay.stackfaq_mates(faq)

    rows = []
    floor = ranking.TIME_SPREAD_FLOOR
    for share in SHARES:
        for spread_floor in (floor, ranking.SPREAD_FLOOR) if share else (floor,):
            ranking.TIME_SPREAD_FLOOR = spread_floor
            bugs = replay.recall(timed_order(words, meaning, days, share), reports.ids, reports.duplicates)
            paraphrases = replay.recall(timed_order(faq_words, faq_meaning, faq_days, share), faq_ids, mates)
            label = f"{share:.2f}" + ("" if spread_floor == floor else ", no floor (its own spread)")
            rows.append([label, *(f"{r:.3f}" for r in bugs), f"{paraphrases[0]:.3f}", f"{paraphrases[2]:.3f}"])
    ranking.TIME_SPREAD_FLOOR = floor
    return "\n".join(
        [
            "## notifier_time: closeness in time in `similar`'s order (replayed, MPNet)",
            "",
            f"How far apart Hadoop's {len(reports.duplicates)} labelled reports and their nearest duplicate were "
            "opened, against two reports drawn at random:",
            "",
            table(["at most", "duplicates", "random pairs"], apart_rows(days, reports.ids, reports.duplicates)),
            "",
            "`similar`'s order with the closeness in time at each share (shipped: 0.33, in a spread of "
            f"{floor:g} at least):",
            "",
            table(
                ["time share", "Hadoop @1", "@5", "@10", "StackFAQ @1", "@10"],
                rows,
            ),
            "",
        ]
    )


if __name__ == "__main__":
    print(main())
