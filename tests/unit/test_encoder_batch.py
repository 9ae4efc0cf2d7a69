"""encode_batch: several texts in one model run, giving each text the vector it gets alone (decision 0036)."""

from __future__ import annotations

import numpy as np

from shared.text.encoders import BATCH_AGREEMENT, MPNetEncoder, load_encoder

TEXTS = [
    "My card keeps getting declined at checkout",
    "Why are there so many fees on my statement?",
    "I believe my card payment exchange rate is incorrect.",
    "How do I change the address on my account?",
    "NameNode crashes with OutOfMemoryError when the edit log is replayed after an unclean shutdown of the "
    "cluster; FSEditLogLoader.loadEditRecords fails",
    "I found the card I misplaced and I need to reactivate it, how do I do that?",
]


def mpnet() -> MPNetEncoder:
    encoder = load_encoder("mpnet")
    assert isinstance(encoder, MPNetEncoder)
    return encoder


def test_one_text_in_a_batch_is_encoded_exactly_as_alone() -> None:
    encoder = mpnet()
    assert np.array_equal(encoder.encode_batch(TEXTS[:1]), encoder.encode(TEXTS[:1]))


def test_a_single_text_is_encoded_alike_before_and_after_the_first_batch() -> None:
    # The first batch switches the encoder to the packed graph, which single texts then use too.
    encoder = MPNetEncoder.load()
    before = encoder.encode(TEXTS)
    encoder.encode_batch(TEXTS[:2])
    assert np.array_equal(encoder.encode(TEXTS), before)


def test_packed_texts_each_keep_the_vector_they_get_alone() -> None:
    encoder = mpnet()
    alone = encoder.encode(TEXTS)
    packed = encoder.encode_batch(TEXTS)
    cosines = np.sum(alone * packed, axis=1)
    assert cosines.min() >= BATCH_AGREEMENT, cosines
    # The same text twice in a run: its tokens attend to their own text only, at its own positions.
    twice = encoder.encode_batch([TEXTS[0], TEXTS[0]])
    assert np.allclose(twice, alone[0], atol=1e-5)


def test_a_text_keeps_its_vector_whatever_its_neighbours_in_the_run() -> None:
    # Before each text had its own activation scale, a short text packed beside a long one moved to a
    # cosine of 0.97 with its own vector.
    encoder = mpnet()
    alone = encoder.encode(TEXTS[:1])[0]
    for neighbour in TEXTS[1:]:
        assert float(encoder.encode_batch([neighbour, TEXTS[0]])[1] @ alone) >= BATCH_AGREEMENT


def test_minilm_and_wordllama_batches_match_their_texts_alone() -> None:
    for name in ("minilm", "wordllama"):
        encoder = load_encoder(name)
        assert encoder is not None
        cosines = np.sum(encoder.encode(TEXTS) * encoder.encode_batch(TEXTS), axis=1)
        assert cosines.min() >= BATCH_AGREEMENT, (name, cosines)
