"""The order of the duplicate view on fixed scores: words and meaning standardised over the candidates
and mixed, so the part that tells the candidates apart decides, and a part that only carries noise does
not."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from services.notifier.detection.ranking import duplicate_order

WEIGHT = 0.8


def blend(lexical: list[float], meaning: list[float]) -> NDArray[np.float64]:
    words, sense = np.asarray(lexical), np.asarray(meaning)
    return np.asarray(np.maximum(WEIGHT * sense + (1 - WEIGHT) * words, words), np.float64)


def test_a_duplicate_sharing_the_telling_words_outranks_reports_that_only_sound_alike() -> None:
    # Bug reports of one product all sound alike to the encoder; only the words tell the duplicate apart.
    lexical = [0.10, 0.55, 0.12, 0.08, 0.11]
    meaning = [0.78, 0.66, 0.74, 0.70, 0.72]
    blended = blend(lexical, meaning)
    assert int(np.argmax(blended)) == 0

    assert duplicate_order(np.asarray(lexical), np.asarray(meaning))[0] == 1


def test_a_paraphrase_sharing_no_word_stays_first_when_the_words_carry_only_noise() -> None:
    lexical = [0.005, 0.021, 0.013, 0.014]
    meaning = [0.55, 0.13, 0.16, 0.17]

    assert duplicate_order(np.asarray(lexical), np.asarray(meaning))[0] == 0


def test_without_a_comparable_meaning_for_every_candidate_the_score_order_is_kept() -> None:
    assert duplicate_order(np.asarray([0.6, 0.4, 0.2]), None) == [0, 1, 2]


def test_candidates_alike_in_both_parts_keep_the_score_order() -> None:
    assert duplicate_order(np.asarray([0.3, 0.3, 0.5]), np.asarray([0.6, 0.6, 0.2])) == [0, 1, 2]


def test_of_candidates_that_read_alike_the_one_opened_nearest_the_report_comes_first() -> None:
    lexical = np.asarray([0.42, 0.41, 0.12, 0.10])
    meaning = np.asarray([0.71, 0.70, 0.40, 0.38])
    days_apart = np.asarray([200.0, 2.0, 1.0, 3.0])

    assert duplicate_order(lexical, meaning)[:2] == [0, 1]
    assert duplicate_order(lexical, meaning, days_apart, time_share=1 / 3)[:2] == [1, 0]


def test_a_report_far_clearer_in_its_words_and_meaning_is_not_sunk_by_time() -> None:
    lexical = np.asarray([0.60, 0.12, 0.10, 0.11, 0.09])
    meaning = np.asarray([0.85, 0.40, 0.38, 0.41, 0.39])
    days_apart = np.asarray([300.0, 0.5, 1.0, 2.0, 0.2])

    assert duplicate_order(lexical, meaning, days_apart, time_share=1 / 3)[0] == 0


def test_hours_apart_within_a_day_do_not_outvote_what_the_text_tells_apart() -> None:
    # A burst: every candidate of the same day. Their spread in log(1 + days) is under the floor, so it is
    # not blown up to a full vote (standardised in its own spread, it would put candidate 1 first).
    lexical = np.asarray([0.50, 0.40, 0.12])
    meaning = np.asarray([0.75, 0.68, 0.40])
    days_apart = np.asarray([0.9, 0.01, 0.02])

    assert duplicate_order(lexical, meaning, days_apart, time_share=1 / 3) == duplicate_order(lexical, meaning)


def test_with_no_share_for_time_the_text_alone_orders() -> None:
    lexical = np.asarray([0.42, 0.41, 0.12])
    meaning = np.asarray([0.71, 0.70, 0.40])

    assert duplicate_order(lexical, meaning, np.asarray([200.0, 2.0, 1.0]), time_share=0) == [0, 1, 2]


def test_without_a_meaning_the_words_and_the_time_still_mix() -> None:
    # An encoder change (or no encoder): the words stand for the text.
    lexical = np.asarray([0.42, 0.41, 0.12])

    assert duplicate_order(lexical, None, np.asarray([200.0, 2.0, 1.0]), time_share=1 / 3)[0] == 1
