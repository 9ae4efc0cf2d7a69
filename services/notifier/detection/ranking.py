"""The order of the duplicate view (`similar`): the words and the meaning ranked apart, then mixed.

The score (similarity.py) is one calibrated number because clustering compares it with a threshold; a
ranking needs no calibration. Ranking by the blended score lets the meaning decide the order wherever
it is high, and a sentence encoder finds most reports of one product alike (two unrelated Hadoop bug
reports already have a MiniLM cosine of 0.19 on average): the bug reports' duplicates, which share
identifiers and stack frames, sink below reports that merely sound alike. Standardising each part over
the candidates (how far above the others' mean, in their spread, SPREAD_FLOOR at least) before mixing
them in equal shares lets each part order what it tells apart, whatever its scale. Hadoop recall@10
through the service: 0.814 -> 0.845 with MiniLM; a StackFAQ paraphrase stays in the first ten
(docs/notifier.md, bench/notifier_replay.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MEANING_SHARE = 0.5  # equal shares: not tuned on the benchmark it is measured on
# A part whose scores spread less than this over the candidates does not tell them apart (a few shared
# character n-grams, say): measured in this spread, its noise would count as much as the other's signal.
SPREAD_FLOOR = 0.05


def duplicate_order(lexical: NDArray[np.float64], meaning: NDArray[np.float64] | None) -> list[int]:
    """Positions of the candidates (given most similar first), best first: the standardised words and
    meaning mixed. Ties keep the score's order, and so does every candidate when the meaning is not
    comparable for all of them."""
    if meaning is None or len(lexical) < 2:
        return list(range(len(lexical)))
    mixed = (1 - MEANING_SHARE) * standardised(lexical) + MEANING_SHARE * standardised(meaning)
    return [int(i) for i in np.argsort(-np.round(mixed, 9), kind="stable")]


def standardised(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """How far above the candidates' mean each value is, in their spread (SPREAD_FLOOR at least)."""
    return np.asarray((values - values.mean()) / max(float(values.std()), SPREAD_FLOOR))
