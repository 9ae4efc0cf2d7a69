"""What a report means, as one vector: a sentence encoder's embedding of its subject and first lines.

Words and n-grams (text.py) only meet when customers use the same words; an embedding also meets "cross
out text on git hub" and "strikethrough in GitHub markdown". The encoder's weights ship in an installed
package (shared/text/encoders.py): nothing is downloaded at run time.

A vector is stored in int8 with one scale per vector (776 bytes for MPNet's 768 numbers, 392 for MiniLM's
384; the cosine stays within 0.001 of float32's), behind a fingerprint of the encoder that made it: vectors
of another model (after FIRSTCALL_NOTIFIER_DETECTION_ENCODER changed) are never compared with today's.
The embedding index's postings carry a sketch instead, one bit per number (its sign: 96 bytes for MPNet),
enough to pick which of a probe's hundreds of postings are worth re-scoring exactly (`sketch_cosines`).
"""

from __future__ import annotations

import asyncio
import functools
import struct
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shared.text.encoders import EncoderUnavailable, SentenceEncoder, load_encoder

# The encoders read 64 (MPNet, MiniLM) or 128 (WordLlama) tokens; the rest of a pasted log would only cost
# tokenizing time. A few hundred characters hold the tokens they read.
ENCODED_CHARS = 1000
# Reports encoded ahead in one batch (prepare_reports) and not received yet: a bound, for a batch whose
# reports never come (their events were handled already, or another replica took the partition).
PREPARED_REPORTS = 512
_HEADER = struct.Struct("<If")


@dataclass(frozen=True)
class Meaning:
    """A unit vector in int8 (values x scale), tagged with the encoder it comes from."""

    encoder: int
    values: NDArray[np.int8]
    scale: float

    def to_bytes(self) -> bytes:
        return _HEADER.pack(self.encoder, self.scale) + self.values.tobytes()

    @classmethod
    def from_bytes(cls, blob: bytes) -> Meaning:
        encoder, scale = _HEADER.unpack_from(blob)
        return cls(encoder, np.frombuffer(blob, np.int8, offset=_HEADER.size), scale)

    @classmethod
    def quantize(cls, vector: NDArray[np.float32], encoder: int) -> Meaning:
        """The int8 form of a float vector (a zero vector stays zero)."""
        peak = float(np.abs(vector).max(initial=0.0))
        scale = peak / 127.0 if peak > 0 else 1.0
        return cls(encoder, np.round(vector / scale).astype(np.int8), scale)

    def unit(self) -> NDArray[np.float32]:
        return self.values.astype(np.float32) * np.float32(self.scale)

    def sketch(self) -> bytes:
        """The embedding index's form of this vector: the sign of each number, one bit each."""
        return np.packbits(self.values > 0).tobytes()


def fingerprint(encoder: SentenceEncoder) -> int:
    """A 32-bit tag naming the encoder (its name carries the model and its weights' hash)."""
    return zlib.crc32(encoder.name.encode())


def report_text(subject: str, description: str) -> str:
    """What the encoder reads of a report: the customer's summary first, then the start of the details."""
    return f"{subject}\n{description}"[:ENCODED_CHARS].strip()


class MeaningEncoder:
    """The configured sentence encoder, turning reports into stored vectors."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self.fingerprint = fingerprint(encoder)
        self._prepared: OrderedDict[str, Meaning] = OrderedDict()  # report text -> its vector, oldest first

    @staticmethod
    def named(name: str) -> MeaningEncoder | None:
        """The encoder a setting names (loaded once per process); None for "none"."""
        return _named(name)

    def encode(self, texts: Sequence[str]) -> list[Meaning]:
        vectors = self.encoder.encode(list(texts))
        return [Meaning.quantize(vector, self.fingerprint) for vector in vectors]

    def encode_batch(self, texts: Sequence[str]) -> list[Meaning]:
        """`encode` in as few model runs as the encoder can (encoders.SentenceEncoder.encode_batch)."""
        vectors = self.encoder.encode_batch(list(texts))
        return [Meaning.quantize(vector, self.fingerprint) for vector in vectors]

    async def prepare_reports(self, reports: Sequence[tuple[str, str]]) -> None:
        """Encode reports (subject, description) about to be received, in one batch off the event loop;
        each one's `encode_report` then takes its vector from here. Nothing is stored: a report whose
        vector is lost (a restart) or never prepared is encoded alone, as before (decision 0036)."""
        texts = list(dict.fromkeys(report_text(subject, description) for subject, description in reports))
        texts = [text for text in texts if text not in self._prepared]
        if not texts:
            return
        meanings = await asyncio.to_thread(self.encode_batch, texts)
        self._prepared.update(zip(texts, meanings, strict=True))
        while len(self._prepared) > PREPARED_REPORTS:
            self._prepared.popitem(last=False)

    async def encode_report(self, subject: str, description: str) -> Meaning:
        """One report's vector: prepared in a batch, else computed off the event loop (MPNet takes 15-35 ms,
        MiniLM a few)."""
        text = report_text(subject, description)
        if (prepared := self._prepared.pop(text, None)) is not None:
            return prepared
        (meaning,) = await asyncio.to_thread(self.encode, [text])
        return meaning


@functools.cache
def _named(name: str) -> MeaningEncoder | None:
    try:
        encoder = load_encoder(name)
    except EncoderUnavailable as exc:
        raise EncoderUnavailable(
            f"{exc}; or set FIRSTCALL_NOTIFIER_DETECTION_ENCODER to wordllama (installed by default) or none"
        ) from exc
    return MeaningEncoder(encoder) if encoder is not None else None


def cosines(query: Meaning, others: Sequence[Meaning | None]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """The cosine of the query with each vector (0 where one is missing or from another encoder), and which
    are comparable: present, and of the query's encoder."""
    result = np.zeros(len(others))
    same = [(i, other) for i, other in enumerate(others) if other is not None and other.encoder == query.encoder]
    if same:
        matrix = np.stack([other.values for _, other in same]).astype(np.float32)
        scales = np.array([other.scale for _, other in same], np.float32)
        result[[i for i, _ in same]] = (matrix @ query.unit()) * scales
    return np.clip(result, 0.0, 1.0), _marked(len(others), [i for i, _ in same])


def stored_cosines(query: Meaning, blobs: Sequence[bytes | None]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """`cosines` of stored vectors (Meaning.to_bytes), without a Meaning each."""
    same = [i for i, blob in enumerate(blobs) if blob is not None and _HEADER.unpack_from(blob)[0] == query.encoder]
    result = np.zeros(len(blobs))
    if same:
        result[same] = stored_dots([blobs[i] or b"" for i in same], query.unit())
    return np.clip(result, 0.0, 1.0), _marked(len(blobs), same)


def _marked(count: int, positions: list[int]) -> NDArray[np.bool_]:
    marked = np.zeros(count, dtype=bool)
    marked[positions] = True
    return marked


def unit_matrix(blobs: Sequence[bytes], dimension: int) -> NDArray[np.float32]:
    """Stored vectors (int8 and scale, as in the index) as rows of floats, in one pass."""
    if not blobs:
        return np.zeros((0, dimension), np.float32)
    values, scales = _stored_rows(blobs, dimension)
    return np.asarray(values * scales[:, None], np.float32)


def stored_dots(blobs: Sequence[bytes], unit: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each stored vector's dot product with `unit`: `unit_matrix(blobs) @ unit`, in a third of the time
    (each row is scaled after its product, one number, rather than before, a row of numbers; the probe of
    the embedding index scores 512 of them per report)."""
    if not blobs:
        return np.zeros(0, np.float32)
    values, scales = _stored_rows(blobs, len(unit))
    dots: NDArray[np.float32] = (values @ unit) * scales
    return dots


def sketches(blobs: Sequence[bytes], dimension: int) -> list[bytes]:
    """`Meaning.sketch` of stored vectors (Meaning.to_bytes), in one pass (the index upkeep posts thousands)."""
    if not blobs:
        return []
    values, _ = _stored_rows(blobs, dimension)
    return [row.tobytes() for row in np.packbits(values > 0, axis=1)]


def sketch_cosines(blobs: Sequence[bytes], unit: NDArray[np.float32]) -> NDArray[np.float32]:
    """Each posting's cosine with `unit`, estimated from its sketch: unit . sign(v), scaled as the cosine.

    A probe's 512 sketches are 48 KB to read from the index, send and parse where the int8 vectors were
    400 KB (on a 1M window the probe now touches 38 buffers of 8 KB). The estimate only chooses which
    postings are re-scored exactly from the reports' own vectors: replayed on reports' embeddings, the
    exact ten best of 512 neighbours were among the sketch's fifty best for 99.6% of the queries, the best
    one always. A posting written before sketches holds the whole vector (Meaning.to_bytes, longer) and is
    scored exactly, until the window passes it by."""
    dimension = len(unit)
    if not blobs:
        return np.zeros(0, np.float32)
    scores = np.zeros(len(blobs), np.float32)
    short = [i for i, blob in enumerate(blobs) if len(blob) * 8 == dimension]
    whole = [i for i, blob in enumerate(blobs) if len(blob) * 8 != dimension]
    if short:
        bits = np.unpackbits(np.frombuffer(b"".join(blobs[i] for i in short), np.uint8).reshape(len(short), -1), axis=1)
        # unit . (2 bits - 1), and sign(v) . v / |sign(v)| is about sqrt(2 / pi) for a dense unit vector v.
        signed = 2 * (bits.astype(np.float32) @ unit) - float(unit.sum())
        scores[short] = signed * np.float32(np.sqrt(np.pi / 2) / np.sqrt(dimension))
    if whole:
        scores[whole] = stored_dots([blobs[i] for i in whole], unit)
    return scores


def _stored_rows(blobs: Sequence[bytes], dimension: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Stored vectors (Meaning.to_bytes) as their int8 values in float32 rows, and each one's scale."""
    raw = np.frombuffer(b"".join(blobs), np.uint8).reshape(len(blobs), _HEADER.size + dimension)
    scales = raw[:, 4:8].copy().view("<f4").ravel()
    return raw[:, _HEADER.size :].view(np.int8).astype(np.float32), scales
