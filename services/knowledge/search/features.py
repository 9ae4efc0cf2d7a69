"""What search keeps of a text besides its terms: exact-title keys, character trigrams for typos, unit
vectors, edit distances and the sentences a snippet is chosen from.

Terms come from the shared analyser (shared/text/analyser.py: Snowball stems in the article's language),
with the filler of how customers phrase a request as extra stop words. Character trigrams of whole words
(with word boundaries) carry typos and split or joined words ("git hub", "githb") to the right title.
Everything here is deterministic and free of downloaded models.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from shared.text.analyser import Analyser

# How customers phrase a request ("I'd like to", "is there a way"): words a search query is full of and an
# answer never needs.
REQUEST_FILLER = frozenset(
    [
        "id",
        "ill",
        "way",
        "want",
        "wants",
        "like",
        "get",
        "got",
        "make",
        "use",
        "using",
        "used",
        "able",
        "possible",
        "anyone",
        "someone",
        "something",
        "thing",
        "things",
        "please",
        "hi",
        "hello",
        "thanks",
    ]
)
NGRAM_SIZES = (3,)
ANALYSER = Analyser.for_locale(None, extra_stop_words=REQUEST_FILLER)


def analyser_for(locale: str | None) -> Analyser:
    """The analyser of an article's or a query's locale (English when it has none)."""
    return Analyser.for_locale(locale, extra_stop_words=REQUEST_FILLER)


def title_key(text: str) -> str:
    """A title reduced to its words: a query with the same key is an exact match of that title."""
    return " ".join(ANALYSER.words(text))


def char_ngrams(text: str) -> Counter[str]:
    """Character trigrams of each word with its boundaries (" gi", "ub "), for typo tolerance."""
    grams: Counter[str] = Counter()
    for word in ANALYSER.words(text):
        padded = f" {word} "
        for size in NGRAM_SIZES:
            grams.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return grams


def unit_vector(counts: Counter[str]) -> dict[str, float]:
    """Sublinear term frequencies scaled to length one: depends on the text alone, never on the corpus."""
    weights = {key: 1.0 + math.log(count) for key, count in counts.items() if count > 0}
    norm = math.sqrt(sum(weight * weight for weight in weights.values()))
    return {key: weight / norm for key, weight in weights.items()} if norm else {}


def trigrams(term: str) -> set[str]:
    padded = f"^{term}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count once), or limit + 1 as soon as it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if before is not None and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


def sentences(text: str) -> list[str]:
    """The text cut into sentences or lines, for choosing a snippet."""
    plain = re.sub(r"[#*_`>\[\]]+", " ", text)
    parts = re.split(r"(?<=[.!?])\s+|\n+", plain)
    return [" ".join(part.split()) for part in parts if part.strip()]
