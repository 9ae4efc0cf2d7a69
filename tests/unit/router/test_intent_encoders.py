"""The real sentence encoders, from the files their PyPI packages ship (MiniLM's first load takes ~3 s; MPNet's
first on a machine ~20 s, to build its graph into the model cache)."""

from __future__ import annotations

import numpy as np
import pytest

from services.router.intents import EncoderUnavailable, load_encoder
from shared.text import encoders

SAME = ("my new card has not arrived yet", "where is the card you sent me?")
OTHER = "what is the weather in paris tomorrow"


@pytest.mark.parametrize(("name", "dimension"), [("wordllama", 256), ("minilm", 384), ("mpnet", 768)])
def test_an_encoder_puts_paraphrases_closer_than_unrelated_texts(name: str, dimension: int) -> None:
    encoder = load_encoder(name)
    assert encoder is not None
    first, second, other = encoder.encode([*SAME, OTHER])
    assert first.shape == (dimension,)
    assert np.isclose(np.linalg.norm(first), 1.0, atol=1e-5)
    assert float(first @ second) > float(first @ other) + 0.1


@pytest.mark.parametrize("name", ["wordllama", "minilm", "mpnet"])
def test_an_encoder_gives_a_text_the_same_vector_alone_as_in_a_batch(name: str) -> None:
    encoder = load_encoder(name)
    assert encoder is not None
    together = encoder.encode([*SAME, OTHER])
    assert np.array_equal(encoder.encode([OTHER])[0], together[2])


def test_the_same_encoder_instance_serves_the_whole_process() -> None:
    assert load_encoder("wordllama") is load_encoder("wordllama")
    assert load_encoder("none") is None


def test_an_unknown_encoder_name_is_refused_with_the_choices() -> None:
    with pytest.raises(EncoderUnavailable, match="none, wordllama, minilm or mpnet"):
        load_encoder("bert-large")


def test_a_quantized_minilm_unlike_the_packaged_graph_on_this_cpu_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Overflowing:
        """What full-range int8 products gave on a CPU without VNNI: states unrelated to the text."""

        def run(self, outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            length = feeds["input_ids"].shape[-1]
            return [np.random.default_rng(length).standard_normal((1, length, 384)).astype(np.float32)]

    monkeypatch.setattr(encoders, "_quantized_session", lambda ort, model: Overflowing())
    with pytest.raises(EncoderUnavailable, match=r"all-MiniLM-L6-v2.*not the model's \(cosine -?0\.\d\d with float32"):
        encoders.MiniLMEncoder.load()
