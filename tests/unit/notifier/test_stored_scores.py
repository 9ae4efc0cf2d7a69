"""Re-scoring candidates straight from their stored blobs gives the scores that decoding each row gave."""

from __future__ import annotations

import numpy as np
import pytest

from services.notifier.detection.embedding import Meaning, stored_dots, unit_matrix
from services.notifier.detection.similarity import ReportVector, StoredVectors, score_parts
from services.notifier.detection.text import SparseVector, spelling_vector, term_counts, weigh

ENCODER, OTHER_ENCODER = 101, 202
TEXTS = [
    ("Card payment declined", "My card was refused at checkout twice today"),
    ("Payment refused", "the shop says my card payment is declined"),
    ("Cannot log in", "password reset email never arrives"),
    ("Checkout error", "paymnet declined with error 0x51 at the checkout page"),
    ("", ""),  # nothing to index: no words, no n-grams
]


def vector(subject: str, description: str, meaning: Meaning | None) -> ReportVector:
    return ReportVector(weigh(term_counts(subject, description)), spelling_vector(subject, description), meaning)


@pytest.mark.parametrize("meaning_weight", [0.0, 0.9])
def test_stored_vectors_score_as_their_decoded_vectors(meaning_weight: float) -> None:
    rng = np.random.default_rng(7)
    unit = rng.normal(size=(len(TEXTS) + 1, 32)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    meanings: list[Meaning | None] = [Meaning.quantize(row, ENCODER) for row in unit]
    meanings[2] = None  # stored before any encoder
    meanings[3] = Meaning.quantize(unit[3], OTHER_ENCODER)  # stored by another encoder
    query = vector("Payment declined", "card refused at the checkout", meanings[-1])
    others = [vector(subject, text, meaning) for (subject, text), meaning in zip(TEXTS, meanings, strict=False)]
    stored = StoredVectors(
        [other.to_bytes() for other in others],
        [None if other.meaning is None else other.meaning.to_bytes() for other in others],
    )

    # What re-scoring did before: each row decoded into a ReportVector (half-precision weights, as stored).
    decoded_rows = [ReportVector.from_row(f, e) for f, e in zip(stored.features, stored.embeddings, strict=True)]
    decoded = score_parts(query, decoded_rows, meaning_weight=meaning_weight)
    direct = score_parts(query, stored, meaning_weight=meaning_weight)

    np.testing.assert_allclose(direct.blended, decoded.blended, atol=1e-6)
    np.testing.assert_allclose(direct.lexical, decoded.lexical, atol=1e-6)
    assert direct.meaning is None
    assert decoded.meaning is None
    assert direct.blended[1] > direct.blended[2]  # the paraphrase above the unrelated report
    assert direct.lexical[1] > 0
    assert direct.lexical[4] == 0


def test_an_empty_candidate_list_scores_nothing() -> None:
    query = vector("Payment declined", "card refused", None)
    parts = score_parts(query, StoredVectors([], []))
    assert parts.blended.shape == (0,)


def test_stored_dots_are_the_products_of_the_unit_matrix() -> None:
    # The embedding index's probe scores its postings with stored_dots (scaled after the product).
    rng = np.random.default_rng(11)
    rows = rng.normal(size=(300, 64)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    blobs = [Meaning.quantize(row, ENCODER).to_bytes() for row in rows]
    query = Meaning.quantize(rows[0], ENCODER).unit()
    expected = unit_matrix(blobs, 64) @ query
    assert np.allclose(stored_dots(blobs, query), expected, atol=1e-6)
    assert stored_dots(blobs, query)[0] == pytest.approx(1.0, abs=0.01)  # a vector with itself
    assert stored_dots([], query).shape == (0,)


def test_query_terms_sharing_a_lookup_slot_all_count() -> None:
    # _dots finds a query's terms in a table by their low 13 bits; terms equal there (and negative hashes)
    # must still each meet their match, as the exact intersection does.
    def sparse(terms: list[int], seed: int) -> SparseVector:
        weights = np.random.default_rng(seed).random(len(terms)).astype(np.float32)
        order = np.argsort(terms)
        return SparseVector(np.array(terms, np.int64)[order], (weights / np.linalg.norm(weights))[order])

    shared_slot = [3, 3 + 8192, 3 + 5 * 8192, -(2**40) + 3, 77]
    query = ReportVector(sparse(shared_slot, 1), sparse([9, 9 + 8192, 12], 2))
    others = [
        ReportVector(sparse([3 + 8192, -(2**40) + 3, 500], 3), sparse([9 + 8192], 4)),
        ReportVector(sparse([3, 3 + 5 * 8192, 77], 5), sparse([9, 12, 13], 6)),
        ReportVector(sparse([4, 8195 + 1], 7), sparse([10], 8)),
    ]
    lexical = score_parts(query, others).lexical
    expected = [0.75 * query.words.dot(o.words) + 0.25 * query.spelling.dot(o.spelling) for o in others]
    assert lexical == pytest.approx(expected, abs=1e-6)  # SparseVector.dot sums in float32
    assert min(expected[:2]) > 0
    assert expected[2] == 0
