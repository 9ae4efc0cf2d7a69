"""The intent classifier's core on a small corpus of our own: paraphrases, typos, unknowns, bytes, bad input."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from services.router.intents import (
    IntentModel,
    ModelMismatch,
    TrainingError,
    model_from_bytes,
    model_to_bytes,
    train_model,
)
from shared.text.analyser import normalise_values

CORPUS = {
    "card_arrival": [
        "my new card has not arrived yet",
        "when will my card be delivered",
        "I am still waiting for the card you sent",
        "card delivery is taking too long",
        "I ordered a card two weeks ago and nothing came",
        "where is my debit card",
    ],
    "refund_request": [
        "I want my money back for this order",
        "please refund my purchase",
        "how do I get a refund",
        "return the money for the broken item",
        "can you reimburse me for the faulty product",
        "refund the amount you charged me",
    ],
    "password_reset": [
        "I forgot my password",
        "how can I reset my password",
        "I cannot log in because my password is not accepted",
        "I need to change my login password",
        "the password reset link does not work",
        "locked out after entering the wrong password",
    ],
    "address_change": [
        "I moved and need to update my address",
        "change the delivery address on my account",
        "how do I edit my home address",
        "my address is wrong in your records",
        "update my postal address please",
        "send my statements to my new address",
    ],
    "declined_payment": [
        "my card payment was declined",
        "the shop refused my card",
        "why was my payment rejected at checkout",
        "the transaction did not go through",
        "my purchase failed although I have funds",
        "payment declined at the supermarket",
    ],
    "cancel_subscription": [
        "I want to cancel my subscription",
        "stop my monthly plan",
        "how do I end my membership",
        "please terminate my contract",
        "I no longer want the premium plan",
        "cancel the recurring service",
    ],
    "late_delivery": [
        "my parcel is late",
        "the order has not been delivered yet",
        "where is my package",
        "the delivery was supposed to arrive yesterday",
        "tracking shows no progress on my shipment",
        "my order is taking forever to arrive",
    ],
    "damaged_item": [
        "the item arrived broken",
        "my order came damaged",
        "the screen was cracked when I opened the box",
        "the product is defective",
        "the package was crushed and the contents are ruined",
        "I received a faulty device",
    ],
    "invoice_copy": [
        "I need a copy of my invoice",
        "can you send me the receipt",
        "where can I download my bill",
        "please email me the invoice for last month",
        "I lost my receipt and need another one",
        "I need a VAT invoice for my company",
    ],
    "opening_hours": [
        "what time do you open",
        "are you open on sunday",
        "when does the store close",
        "what are your opening hours",
        "is the branch open on public holidays",
        "until when can I visit the shop today",
    ],
}
EXAMPLES = [(text, intent) for intent, texts in CORPUS.items() for text in texts]
THRESHOLD = 0.5


class HashedWordsEncoder:
    """A stand-in sentence encoder: words hashed into 32 dimensions (deterministic, no model files)."""

    name = "hashed-words-32"
    dimension = 32

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in normalise_values(text).split():
                vectors[row, hashlib.sha256(word.encode()).digest()[0] % self.dimension] += 1.0
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
        return vectors

    def encode_batch(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        return self.encode(texts)


@pytest.fixture(scope="module")
def model() -> IntentModel:
    return train_model(examples=EXAMPLES)


@pytest.fixture(scope="module")
def encoded_model() -> IntentModel:
    return train_model(examples=EXAMPLES, encoder=HashedWordsEncoder())


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("has my card arrived yet?", "card_arrival"),
        ("I would like my money back", "refund_request"),
        ("I can't remember my password", "password_reset"),
        ("please cancel my membership", "cancel_subscription"),
        ("the box arrived smashed and the item is broken", "damaged_item"),
        ("are you open tomorrow?", "opening_hours"),
        ("Send me the INVOICE for March, please!", "invoice_copy"),
    ],
)
def test_recognises_paraphrases_it_was_not_trained_on(model: IntentModel, text: str, intent: str) -> None:
    assert model.classify(text, threshold=THRESHOLD).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I'd like a refnud for my purchse", "refund_request"),
        ("I forgot my pasword and cannot log in", "password_reset"),
        ("I have moved house, please change my adress", "address_change"),
        ("cancel my subscripton", "cancel_subscription"),
        ("my card paymnet was declnied", "declined_payment"),
    ],
)
def test_recognises_texts_with_typos(model: IntentModel, text: str, intent: str) -> None:
    assert model.classify(text, threshold=THRESHOLD).intent == intent


@pytest.mark.parametrize("text", ["tell me a joke", "I like turtles", "Quelle heure est-il ?", "asdkjh qwe zzz"])
def test_unrelated_text_is_unknown(model: IntentModel, text: str) -> None:
    answer = model.classify(text, threshold=THRESHOLD)
    assert answer.intent is None
    assert answer.alternatives  # the best guesses are still there for an agent to look at


def test_confidences_are_probabilities_ranked_best_first(model: IntentModel) -> None:
    answer = model.classify("where is my debit card, it never came", threshold=THRESHOLD)
    scores = [score for _, score in answer.alternatives]
    assert answer.intent == answer.alternatives[0][0] == "card_arrival"
    assert answer.confidence == scores[0]
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0001
    assert len(answer.alternatives) == 3


def test_a_higher_threshold_turns_a_weak_answer_into_unknown(model: IntentModel) -> None:
    answer = model.classify("package still not here", threshold=0.0)
    assert answer.intent == "late_delivery"
    assert model.classify("package still not here", threshold=answer.confidence + 0.01).intent is None


def test_a_model_round_trips_through_bytes_with_identical_answers(model: IntentModel) -> None:
    texts = [text for text, _ in EXAMPLES[::5]] + ["tell me a joke", "refnud pls", ""]
    loaded = model_from_bytes(model_to_bytes(model), encoder=None)
    assert loaded.intents == model.intents
    assert np.array_equal(loaded.probabilities(texts)[0], model.probabilities(texts)[0])
    assert loaded.classify_many(texts, threshold=THRESHOLD) == model.classify_many(texts, threshold=THRESHOLD)


@pytest.mark.parametrize("fixture", ["model", "encoded_model"])
def test_one_text_at_a_time_answers_as_the_batch_does(fixture: str, request: pytest.FixtureRequest) -> None:
    # classify() has its own dense arithmetic for one text (the hot path); it must agree with classify_many.
    model: IntentModel = request.getfixturevalue(fixture)
    texts = [text for text, _ in EXAMPLES] + ["tell me a joke", "refnud pls", "", "!!!", "card card card card"]
    batch = model.classify_many(texts, threshold=THRESHOLD)
    one_by_one = [model.classify(text, threshold=THRESHOLD) for text in texts]
    for text, expected, answer in zip(texts, batch, one_by_one, strict=True):
        assert answer.intent == expected.intent, text
        assert [name for name, _ in answer.alternatives] == [name for name, _ in expected.alternatives], text
        assert answer.confidence == pytest.approx(expected.confidence, abs=2e-4), text


def test_the_bytes_are_numpy_arrays_and_json_with_no_pickle(model: IntentModel) -> None:
    blob = model_to_bytes(model)
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)


def test_training_twice_on_the_same_examples_gives_the_same_bytes(model: IntentModel) -> None:
    assert model_to_bytes(train_model(examples=EXAMPLES)) == model_to_bytes(model)


def test_a_damaged_model_is_refused_with_a_clear_error(model: IntentModel) -> None:
    with pytest.raises(ModelMismatch, match="not an intent model"):
        model_from_bytes(b"definitely not a model", encoder=None)
    with pytest.raises(ModelMismatch, match="not an intent model"):
        model_from_bytes(model_to_bytes(model)[:-100], encoder=None)


def test_an_encoder_joins_the_features_and_the_model_round_trips_with_it(encoded_model: IntentModel) -> None:
    texts = ["has my card arrived yet?", "please cancel my membership", "tell me a joke"]
    loaded = model_from_bytes(model_to_bytes(encoded_model), encoder=HashedWordsEncoder())
    assert loaded.classify_many(texts, threshold=THRESHOLD) == encoded_model.classify_many(texts, threshold=THRESHOLD)
    assert encoded_model.classify(texts[0], threshold=THRESHOLD).intent == "card_arrival"


def test_a_model_refuses_to_load_with_another_encoder_than_it_was_trained_with(
    model: IntentModel, encoded_model: IntentModel
) -> None:
    with pytest.raises(ModelMismatch, match="hashed-words-32"):
        model_from_bytes(model_to_bytes(encoded_model), encoder=None)
    with pytest.raises(ModelMismatch, match="hashed-words-32"):
        model_from_bytes(model_to_bytes(model), encoder=HashedWordsEncoder())


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([], "at least 2 intents"),
        ([("my card has not arrived", "card_arrival"), ("where is my card", "card_arrival")], "at least 2 intents"),
        ([("my card has not arrived", "card_arrival"), ("   ", "refund_request")], "example 1 has an empty text"),
        ([("my card has not arrived", "card_arrival"), ("refund me", " ")], "example 1 has an empty intent"),
    ],
)
def test_training_refuses_examples_that_cannot_make_a_model(examples: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        train_model(examples=examples)


def test_two_intents_with_one_example_each_still_make_a_model() -> None:
    model = train_model(examples=[("my card has not arrived", "card_arrival"), ("please refund me", "refund")])
    assert model.classify("my card never arrived", threshold=0.0).intent == "card_arrival"
    assert model.classify("refund please", threshold=0.0).intent == "refund"


def test_normalisation_keeps_the_words_and_drops_amounts_links_case_and_accents() -> None:
    text = "Café REFUND of £25.50 — see https://shop.example/o/123 or write to ada@example.com"
    assert normalise_values(text) == "cafe refund of £0.0 — see xurlx or write to xemailx"
