"""Word and character n-gram TF-IDF features, exportable as plain arrays and a JSON vocabulary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from shared.text.analyser import normalise_values

# Words carry the meaning; character n-grams inside word boundaries survive typos ("recieved", "cacnel")
# and inflections. Sub-linear term frequency stops a repeated word in a long complaint from dominating.
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (2, 5)
# Terms of one or two texts are mostly typos and names: on BANKING77 dropping them (in corpora large enough
# to afford it) halves the vocabulary, the model's size and its training time at the same accuracy.
WORD_MIN_COUNT, CHAR_MIN_COUNT, MIN_TEXTS_FOR_CUTS = 2, 3, 500


@dataclass(frozen=True)
class LexicalState:
    """What a fitted featurizer is: two vocabularies (term -> column) and their inverse document frequencies."""

    word_terms: list[str]
    word_idf: npt.NDArray[np.float64]
    char_terms: list[str]
    char_idf: npt.NDArray[np.float64]


class LexicalFeatures:
    """Turns normalised texts into one sparse row each: word TF-IDF, then character TF-IDF, each L2-normed."""

    def __init__(self, word: TfidfVectorizer, char: TfidfVectorizer) -> None:
        self._word, self._char = word, char
        self._blocks: tuple[_Block, _Block] | None = None

    @classmethod
    def fit(cls, texts: Sequence[str]) -> LexicalFeatures:
        """A featurizer whose vocabularies are the terms of these texts."""
        normalised = [normalise_values(text) for text in texts]
        # A small corpus (a new intent has a handful of examples) cannot afford a document-count cut-off.
        cuts = len(normalised) >= MIN_TEXTS_FOR_CUTS
        word_min, char_min = (WORD_MIN_COUNT, CHAR_MIN_COUNT) if cuts else (1, 1)
        word = _vectorizer(analyzer="word", ngram_range=WORD_NGRAMS, min_df=word_min).fit(normalised)
        char = _vectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=char_min).fit(normalised)
        return cls(word, char)

    @property
    def size(self) -> int:
        return len(self._word.vocabulary_) + len(self._char.vocabulary_)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        normalised = [normalise_values(text) for text in texts]
        return sp.hstack([self._word.transform(normalised), self._char.transform(normalised)], format="csr")

    def transform_one(self, text: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """`transform` of one text as (columns, values), without scipy and sklearn's per-call checks.

        One ticket is classified at a time on the hot path, where building sparse matrices and validating
        arguments cost several times the arithmetic; the values are `transform`'s, to float32 rounding.
        """
        if self._blocks is None:
            self._blocks = (_Block.of(self._word, 0), _Block.of(self._char, len(self._word.vocabulary_)))
        normalised = normalise_values(text)
        parts = [block.weigh(normalised) for block in self._blocks]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def state(self) -> LexicalState:
        return LexicalState(
            word_terms=_terms(self._word),
            word_idf=np.asarray(self._word.idf_, dtype=np.float64),
            char_terms=_terms(self._char),
            char_idf=np.asarray(self._char.idf_, dtype=np.float64),
        )

    @classmethod
    def from_state(cls, state: LexicalState) -> LexicalFeatures:
        """The featurizer back from its exported state, transforming exactly as the one that was fitted."""
        word = _restore("word", WORD_NGRAMS, state.word_terms, state.word_idf)
        char = _restore("char_wb", CHAR_NGRAMS, state.char_terms, state.char_idf)
        return cls(word, char)


@dataclass(frozen=True)
class _Block:
    """One fitted vectorizer's transform for a single text: analyse, count, sub-linear TF x IDF, L2 norm."""

    analyze: Any
    vocabulary: dict[str, int]
    idf: npt.NDArray[np.float64]
    offset: int  # where this block's columns start in the stacked row

    @classmethod
    def of(cls, vectorizer: TfidfVectorizer, offset: int) -> _Block:
        idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        return cls(vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), idf, offset)

    def weigh(self, normalised: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        # Counted in C (Counter over map): a ticket has hundreds of character n-grams, and a Python loop
        # over them was most of the classification's time.
        counts = Counter(map(self.vocabulary.get, self.analyze(normalised)))
        counts.pop(None, None)  # terms outside the vocabulary
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        columns = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        order = columns.argsort()
        columns = columns[order]
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[order]
        values = (np.log(tf) + 1.0) * self.idf[columns]
        values /= np.sqrt(values @ values)
        return columns + self.offset, values.astype(np.float32)


def _vectorizer(*, analyzer: str, ngram_range: tuple[int, int], min_df: int, **extra: Any) -> TfidfVectorizer:
    # Texts arrive normalised (normalise_values), so the vectorizer must not lower-case or strip again.
    return TfidfVectorizer(
        analyzer=analyzer,
        ngram_range=ngram_range,
        min_df=min_df,
        lowercase=False,
        sublinear_tf=True,
        dtype=np.float32,
        **extra,
    )


def _terms(vectorizer: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        terms[column] = term
    return terms


def _restore(
    analyzer: str, ngram_range: tuple[int, int], terms: list[str], idf: npt.NDArray[np.float64]
) -> TfidfVectorizer:
    if len(terms) != len(idf):
        raise ValueError(f"{analyzer} vocabulary has {len(terms)} terms but {len(idf)} weights")
    vocabulary = {term: column for column, term in enumerate(terms)}
    vectorizer = _vectorizer(analyzer=analyzer, ngram_range=ngram_range, min_df=1, vocabulary=vocabulary)
    vectorizer.idf_ = idf
    return vectorizer
