"""How text becomes search terms: the same analysis for articles, queries and past tickets.

Words are lower-cased, stripped of accents, stop words dropped and suffixes trimmed by a small stemmer
(plurals, -ing, -ed, -ly), so "Deleting accounts" and "delete account" meet. Character trigrams of
whole words (with word boundaries) carry typos and split or joined words ("git hub", "githb") to the
right title. Everything here is deterministic and free of downloaded models.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

_WORD = re.compile(r"[a-z0-9]+")
_VOWEL = re.compile(r"[aeiouy]")
# Function words and the filler of how customers phrase a request ("I'd like to", "is there a way").
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "id",
        "ive",
        "ill",
        "youre",
        "whats",
        "dont",
        "doesnt",
        "cant",
        "wont",
        "isnt",
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


def fold(text: str) -> str:
    """Lower case without accents: "Café" and "cafe" are the same word to a customer."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).replace("'", "")


def words(text: str) -> list[str]:
    """Every word of the text, folded, stop words included (for joins, snippets and exact titles)."""
    return _WORD.findall(fold(text))


def stem(word: str) -> str:
    """Trim common English inflections; deliberately light so unrelated words never collide."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in (("sses", "ss"), ("ies", "y"), ("ss", "ss"), ("us", "us"), ("s", "")):
        if word.endswith(suffix):
            word = word[: len(word) - len(suffix)] + replacement
            break
    for suffix in ("ingly", "edly", "ing", "ed"):
        root = word[: len(word) - len(suffix)]
        if word.endswith(suffix) and len(root) >= 3 and _VOWEL.search(root):
            word = root
            if word.endswith(("at", "bl", "iz")):
                word += "e"
            elif len(word) >= 2 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    if word.endswith("ly") and len(word) > 5:
        word = word[:-2]
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The searchable terms of a text, in order: stemmed words that are not stop words."""
    return [stem(word) for word in words(text) if word not in STOP_WORDS]


def term_counts(text: str) -> Counter[str]:
    return Counter(terms(text))


def title_key(text: str) -> str:
    """A title reduced to its words: a query with the same key is an exact match of that title."""
    return " ".join(words(text))


def char_ngrams(text: str) -> Counter[str]:
    """Character trigrams of each word with its boundaries (" gi", "ub "), for typo tolerance."""
    grams: Counter[str] = Counter()
    for word in words(text):
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
