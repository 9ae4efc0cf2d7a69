"""What a report says, as numbers: weighted word terms and character n-grams of its content words.

Words come from the shared analyser (shared/text/analyser.py: Snowball stems, so "crashes" and "crashing"
meet), reading identifiers as code writes them: split at camelCase and kept whole, so
`FileSystem.listStatus` matches both "file system" and itself. A stack frame is one term, its class and
method. Character n-grams of the same content words catch typos and spelling variants ("pasword",
"log-in") that whole words would miss. Terms are hashed to 63-bit integers so the index stores numbers,
never vocabulary: a change of the analyser changes the hashes, and the migration that comes with it
rebuilds the stored ones (docs/decisions/0039-one-text-analyser.md).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shared.text.analyser import Analyser

SUBJECT_BOOST = 2  # the subject is the customer's own summary: its words count twice
MAX_TEXT_CHARS = 8000  # a pasted log says little more after this, and costs time
CHAR_NGRAMS = (3, 4)
SPELLING_CHARS = 120  # of the description, after the subject: where the problem is named
GRAM_MASK = 0x7FFFFFFF  # n-gram ids fit 31 bits: the stored vector stays small (collisions are harmless)
# Starting only where a run of letters and digits starts, and never giving back what a run took: a pasted
# blob (base64, hex) of 8,000 characters cost 0.6 s here, under the detection lock, when every position
# inside it was tried and each try backtracked over the rest of the run.
_COMPOUND = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]++(?:[._\-/:][A-Za-z0-9]++)+")
# A stack frame (`at org.apache.hadoop.ipc.Client.call(Client.java:1476)`, JVM or .NET) names the method
# that ran; its package path, file and line number repeat in every frame or change with the version, and
# as words they crowd out what the reporter wrote (a trace held 26% of a Hadoop report's terms at p99).
_FRAME = re.compile(r"\bat\s+((?:[\w$]+\.)+)([\w$<>]+)\s*\([^)\n]*\)")
# Greetings and sign-offs: every report has some, and they say nothing about the problem.
GREETINGS = frozenset(
    [
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "please",
        "pls",
        "help",
        "regards",
        "dear",
        "team",
        "get",
        "got",
        "getting",
    ]
)
ANALYSER = Analyser.for_locale(None, extra_stop_words=GREETINGS, identifiers=True)


@dataclass(frozen=True)
class SparseVector:
    """Sorted term hashes and their L2-normalised weights."""

    terms: NDArray[np.int64]
    weights: NDArray[np.float32]

    def dot(self, other: SparseVector) -> float:
        _, mine, theirs = np.intersect1d(self.terms, other.terms, assume_unique=True, return_indices=True)
        return float(np.dot(self.weights[mine], other.weights[theirs]))


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning, identifiers split at camelCase (stop words dropped)."""
    return ANALYSER.content_words(text)


def word_terms(text: str) -> list[str]:
    """The indexed word terms of a text: stems, plus dotted or dashed identifiers kept whole, and each
    stack frame as its class and method only."""
    frames: list[str] = []
    text = _FRAME.sub(lambda frame: _frame_term(frame, frames), text[:MAX_TEXT_CHARS])
    terms = ANALYSER.stems(content_words(text))
    terms.extend("#" + match.group().lower() for match in _COMPOUND.finditer(text))
    terms.extend(frames)
    return terms


def _frame_term(frame: re.Match[str], found: list[str]) -> str:
    """Note the frame as `#class.method` and take it out of the text."""
    found.append(f"#{frame.group(1).rstrip('.').rsplit('.', 1)[-1]}.{frame.group(2)}".lower())
    return " "


def char_grams(words: list[str]) -> Counter[str]:
    """Character n-grams inside each content word, with word boundaries marked."""
    grams: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for size in CHAR_NGRAMS:
            grams.update(padded[i : i + size] for i in range(len(padded) - size + 1))
    return grams


def term_hash(term: str) -> int:
    """A stable, positive, non-zero 63-bit id for a term (0 is reserved for the document count)."""
    value = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "big") & (2**63 - 1)
    return value or 1


def term_counts(subject: str, description: str) -> Counter[int]:
    """Word-term frequencies of a report, the subject counted SUBJECT_BOOST times."""
    counts: Counter[int] = Counter()
    for term in word_terms(subject):
        counts[term_hash(term)] += SUBJECT_BOOST
    for term in word_terms(description):
        counts[term_hash(term)] += 1
    return counts


def weigh(counts: Counter[int], idf: dict[int, float] | None = None) -> SparseVector:
    """Sub-linear term frequency times inverse document frequency, normalised to unit length."""
    if not counts:
        return SparseVector(np.empty(0, np.int64), np.empty(0, np.float32))
    terms = np.fromiter(sorted(counts), np.int64, len(counts))
    weights = np.array(
        [(1.0 + math.log(counts[t])) * (idf.get(int(t), 1.0) if idf else 1.0) for t in terms.tolist()], np.float64
    )
    norm = float(np.linalg.norm(weights)) or 1.0
    return SparseVector(terms, (weights / norm).astype(np.float32))


def spelling_vector(subject: str, description: str) -> SparseVector:
    """Character n-grams of the content words of the subject (and the start of the description)."""
    words = content_words(f"{subject} {description[:SPELLING_CHARS]}")
    hashed: Counter[int] = Counter()
    for gram, n in char_grams(words).items():
        hashed[term_hash(gram) & GRAM_MASK or 1] += n
    return weigh(hashed)
