"""The order of the duplicate view (`similar`): the words, the meaning and the time ranked apart, then
mixed.

The score (similarity.py) is one calibrated number because clustering compares it with a threshold; a
ranking needs no calibration. Ranking by the blended score lets the meaning decide the order wherever
it is high, and a sentence encoder finds most reports of one product alike (two unrelated Hadoop bug
reports already have a MiniLM cosine of 0.19 on average): the bug reports' duplicates, which share
identifiers and stack frames, sink below reports that merely sound alike. Standardising each part over
the candidates (how far above the others' mean, in their spread, SPREAD_FLOOR at least) before mixing
them in equal shares lets each part order what it tells apart, whatever its scale. Hadoop recall@10
through the service: 0.814 -> 0.845 with MiniLM; a StackFAQ paraphrase stays in the first ten
(docs/decisions/0013-notifier-score-and-similar-order.md).

Time is the third part. Customers meet one problem at about the same time (an outage, a bad release),
which is what the notifier exists for: Hadoop's labelled duplicates were filed within 7 days of each other
for 28% of them, two reports drawn at random for 0.9% (docs/decisions/0014-time-in-the-similar-order.md). So among candidates that
read alike, the one opened nearest the report comes first: closeness is -log(1 + days apart), standardised
like the other parts but in a spread of TIME_SPREAD_FLOOR at least, so that hours apart within a day (the
candidates of a burst) are not blown up into a full vote. Hadoop recall@10 through the service: 0.876 ->
0.915. The score, and so the clustering, does not see time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

MEANING_SHARE = 0.5  # of the text's share: equal shares, not tuned on the benchmark it is measured on
# A part whose scores spread less than this over the candidates does not tell them apart (a few shared
# character n-grams, say): measured in this spread, its noise would count as much as the other's signal.
SPREAD_FLOOR = 0.05
# In log(1 + days): closeness spread less than this over the candidates (a burst, hours apart) is measured
# in this spread, so it moves the order a little rather than counting as much as the text's signal.
TIME_SPREAD_FLOOR = 1.0


def duplicate_order(
    lexical: NDArray[np.float64],
    meaning: NDArray[np.float64] | None,
    days_apart: NDArray[np.float64] | None = None,
    time_share: float = 0.0,
) -> list[int]:
    """Positions of the candidates (given most similar first), best first: the standardised words and
    meaning mixed, and with a `time_share` the standardised closeness in time (`days_apart` from the
    report) as well. Ties keep the score's order, and so does every candidate when neither the meaning
    nor the time can be mixed in."""
    closeness = None if days_apart is None or time_share <= 0 else -np.log1p(np.abs(days_apart))
    if len(lexical) < 2 or (meaning is None and closeness is None):
        return list(range(len(lexical)))
    mixed = standardised(lexical)
    if meaning is not None:
        mixed = (1 - MEANING_SHARE) * mixed + MEANING_SHARE * standardised(meaning)
    if closeness is not None:
        mixed = (1 - time_share) * mixed + time_share * standardised(closeness, floor=TIME_SPREAD_FLOOR)
    return [int(i) for i in np.argsort(-np.round(mixed, 9), kind="stable")]


def standardised(values: NDArray[np.float64], floor: float = SPREAD_FLOOR) -> NDArray[np.float64]:
    """How far above the candidates' mean each value is, in their spread (`floor` at least)."""
    return np.asarray((values - values.mean()) / max(float(values.std()), floor))
