"""The in-process search index: what a replica ranks with, rebuilt from its own database.

Two channels score each document. Words: BM25F over the title (weighted up) and the body, computed at
query time from raw term frequencies and the live collection statistics, with misspelled query words
corrected against the vocabulary and split words joined ("git hub" -> github). Character trigrams: the
cosine between the query's trigrams (weighted by rarity) and the title's, which rewards a paraphrase of
the title and survives typos. Every per-document weight depends only on that document, so the same
articles give the same scores whatever order they were added in and whichever database they came from.
"""

from __future__ import annotations

import itertools
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.knowledge.search import features
from services.knowledge.search.postings import PostingTable
from services.knowledge.search.vocabulary import Vocabulary

Scores = npt.NDArray[np.float64]
TITLE_WEIGHT, K1, B_TITLE, B_BODY = 3.0, 1.2, 0.5, 0.75
WORD_POSTINGS_BUDGET = 80_000
GRAM_POSTINGS_BUDGET = 40_000
CANDIDATES = 1000
MAX_QUERY_GRAMS = 64  # the rarest carry the signal; common ones only cost time
COMPACT_WHEN_DEAD = 0.25


@dataclass(frozen=True)
class IndexedDocument:
    """What the index needs of an article or known issue: text to rank by, facets to filter by."""

    id: uuid.UUID
    kind: str  # "article" or "known_issue"
    version: int
    title: str
    body: str
    products: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    locale: str = "en"


@dataclass(frozen=True)
class Entry:
    """A live document as results show it (the body is read from the database when a snippet is due)."""

    id: uuid.UUID
    kind: str
    version: int
    title: str
    products: tuple[str, ...]
    tags: tuple[str, ...]
    locale: str


@dataclass
class _Slots:
    capacity: int = 1024
    count: int = 0
    live: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(1024, dtype=bool))
    title_len: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(1024))
    body_len: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(1024))

    def allocate(self) -> int:
        if self.count == self.capacity:
            self.capacity *= 2
            self.live = np.resize(self.live, self.capacity)
            self.live[self.count :] = False
            self.title_len = np.resize(self.title_len, self.capacity)
            self.body_len = np.resize(self.body_len, self.capacity)
        self.count += 1
        return self.count - 1


class SearchIndex:
    """Documents by slot, their postings, facets and exact-title keys; mutations are synchronous."""

    def __init__(self) -> None:
        self._slots = _Slots()
        self._words = PostingTable(columns=2)  # term frequency in title, in body
        self._grams = PostingTable(columns=1)  # title trigram weight, unit length per title
        self.vocabulary = Vocabulary()
        self._entries: list[Entry | None] = []
        self._slot_of: dict[uuid.UUID, int] = {}
        self._facets: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._titles: dict[str, set[int]] = defaultdict(set)
        self._live_count = 0
        self._title_total = 0.0
        self._body_total = 0.0
        self._corrections: dict[str, tuple[tuple[str, float], ...]] = {}
        self._kind_masks: dict[str, npt.NDArray[np.bool_]] = {}  # until the documents change

    def __len__(self) -> int:
        return self._live_count

    def __contains__(self, document_id: uuid.UUID) -> bool:
        return document_id in self._slot_of

    @property
    def dead_slots(self) -> int:
        return self._slots.count - self._live_count

    def slot_of(self, document_id: uuid.UUID) -> int | None:
        return self._slot_of.get(document_id)

    def entry(self, slot: int) -> Entry:
        found = self._entries[slot]
        assert found is not None, "slot of a removed document"
        return found

    def put(self, documents: Iterable[IndexedDocument]) -> None:
        """Add documents, replacing any earlier version of the same ids."""
        documents = list(documents)
        self.remove_many([document.id for document in documents])
        batch_words, batch_grams = [], []
        for document in documents:
            slot = self._slots.allocate()
            analyser = features.analyser_for(document.locale)
            title_terms, body_terms = analyser.term_counts(document.title), analyser.term_counts(document.body)
            words = {t: (float(title_terms[t]), float(body_terms[t])) for t in title_terms.keys() | body_terms.keys()}
            batch_words.append((slot, words))
            grams = features.unit_vector(features.char_ngrams(document.title))
            batch_grams.append((slot, {gram: (weight,) for gram, weight in grams.items()}))
            self._slots.live[slot] = True
            self._slots.title_len[slot] = sum(title_terms.values())
            self._slots.body_len[slot] = sum(body_terms.values())
            self._title_total += self._slots.title_len[slot]
            self._body_total += self._slots.body_len[slot]
            entry = Entry(document.id, document.kind, document.version, document.title, *_facets(document))
            self._entries.append(entry)
            self._slot_of[document.id] = slot
            for key in _facet_keys(entry):
                self._facets[key].add(slot)
            self._titles[features.title_key(document.title)].add(slot)
            self._live_count += 1
        self.vocabulary.add(self._words.add_batch(batch_words))
        self._grams.add_batch(batch_grams)
        self._corrections.clear()  # a new term may be a closer correction
        self._kind_masks.clear()

    def remove(self, document_id: uuid.UUID) -> None:
        self.remove_many([document_id])

    def remove_many(self, document_ids: Sequence[uuid.UUID]) -> None:
        """Take documents out (one pass over the postings however many there are)."""
        slots = [slot for document_id in document_ids if (slot := self._slot_of.pop(document_id, None)) is not None]
        if not slots:
            return
        self._words.forget_slots(slots)
        self._grams.forget_slots(slots)
        for slot in slots:
            entry = self.entry(slot)
            self._slots.live[slot] = False
            self._title_total -= self._slots.title_len[slot]
            self._body_total -= self._slots.body_len[slot]
            self._entries[slot] = None
            for key in _facet_keys(entry):
                self._facets[key].discard(slot)
            self._titles[features.title_key(entry.title)].discard(slot)
            self._live_count -= 1
        self._kind_masks.clear()
        if self._slots.count > 1000 and self.dead_slots > COMPACT_WHEN_DEAD * self._slots.count:
            self.compact()

    def compact(self) -> None:
        """Renumber live slots densely and drop the postings of removed documents."""
        count = self._slots.count
        live = self._slots.live[:count]
        remap = np.full(count, -1, dtype=np.int32)
        remap[live] = np.arange(int(live.sum()), dtype=np.int32)
        self._words.compact(remap)
        self._grams.compact(remap)
        survivors = [self.entry(int(slot)) for slot in np.flatnonzero(live)]
        fresh = _Slots(capacity=max(1024, len(survivors) * 2))
        fresh.count = len(survivors)
        fresh.live[: len(survivors)] = True
        fresh.title_len[: len(survivors)] = self._slots.title_len[:count][live]
        fresh.body_len[: len(survivors)] = self._slots.body_len[:count][live]
        self._slots = fresh
        self._entries = list(survivors)
        self._slot_of = {entry.id: slot for slot, entry in enumerate(survivors)}
        self._facets = defaultdict(set)
        self._titles = defaultdict(set)
        self._kind_masks.clear()
        for slot, entry in enumerate(survivors):
            for key in _facet_keys(entry):
                self._facets[key].add(slot)
            self._titles[features.title_key(entry.title)].add(slot)

    # ------------------------------------------------------------------------------------------ scoring

    def word_scores(self, query_terms: Mapping[str, float]) -> Scores:
        """BM25F of every slot for weighted query terms.

        Rare terms are scored over all their postings; once those exceed WORD_POSTINGS_BUDGET, the
        remaining (common, low-idf) terms are scored only for the candidates the rare ones found: every
        slot whose partial score reaches the CANDIDATES-th best (ties included, so the set depends on
        scores alone, never on slot numbering). The best articles get their exact score; articles far
        down the list may miss a common word's small share, which keeps a query over 100,000 articles
        within a few milliseconds.
        """
        count = self._slots.count
        terms = sorted(
            (t for t in query_terms if self._words.frequency(t)), key=lambda t: (self._words.frequency(t), t)
        )
        scores = np.zeros(count)
        if not self._live_count or not terms:
            return scores
        full: list[str] = []
        spent = 0
        for term in terms:
            if full and spent + self._words.frequency(term) > WORD_POSTINGS_BUDGET:
                break
            full.append(term)
            spent += self._words.frequency(term)
        ordered = sorted(full)
        slots, tf, owner = self._words.gather(ordered)
        alive = self._slots.live[slots]
        slots, tf, owner = slots[alive], tf[alive], owner[alive]
        weight = np.asarray([self._term_weight(t, query_terms[t]) for t in ordered])
        scores += np.bincount(slots, weights=weight[owner] * self._saturated(slots, tf), minlength=count)
        rest = sorted(terms[len(full) :])
        if rest:
            candidates = _leaders(scores, CANDIDATES)
            for term in rest:
                found = self._words.lookup(term, candidates)
                scores[candidates] += self._term_weight(term, query_terms[term]) * self._saturated(candidates, found)
        return scores

    def _term_weight(self, term: str, query_weight: float) -> float:
        df = self._words.frequency(term)
        return query_weight * math.log(1 + (self._live_count - df + 0.5) / (df + 0.5)) * (K1 + 1)

    def _saturated(self, slots: npt.NDArray[np.int32], tf: npt.NDArray[np.float32]) -> Scores:
        """BM25F's saturated pseudo-frequency (title weighted) of each posting, 0 where tf is 0."""
        avg_title = max(self._title_total / self._live_count, 1e-9)
        avg_body = max(self._body_total / self._live_count, 1e-9)
        title_norm = 1 - B_TITLE + B_TITLE * self._slots.title_len[slots] / avg_title
        body_norm = 1 - B_BODY + B_BODY * self._slots.body_len[slots] / avg_body
        pseudo = TITLE_WEIGHT * tf[:, 0] / title_norm + tf[:, 1] / body_norm
        saturated: Scores = pseudo / (pseudo + K1)
        return saturated

    def ideal_word_score(self, query_terms: Mapping[str, float]) -> float:
        """What a document holding every query term many times would score: the scale of word_scores.

        Words no article uses count too (as the rarest): a query about something the articles never
        mention is poorly covered, however well its one common word matches.
        """
        total = 0.0
        for term in sorted(query_terms):
            df = self.document_frequency(term)
            idf = math.log(1 + (self._live_count - df + 0.5) / (df + 0.5))
            total += query_terms[term] * idf * (K1 + 1)
        return total

    def gram_scores(self, query: str) -> Scores:
        """Cosine-like match of the query's character trigrams (rarity-weighted) with each title's.

        The rarest trigrams carry the signal: they are taken in order of rarity up to GRAM_POSTINGS_BUDGET
        postings (at least one), so a query of common words costs no more than one of rare ones.
        """
        count = self._slots.count
        weighted: list[tuple[float, str]] = []
        for gram, times in features.char_ngrams(query).items():
            if df := self._grams.frequency(gram):
                idf = math.log(1 + (self._live_count - df + 0.5) / (df + 0.5))
                weighted.append(((1 + math.log(times)) * idf, gram))
        if not weighted:
            return np.zeros(count)
        norm = math.sqrt(sum(weight * weight for weight, _ in weighted))
        chosen: list[tuple[float, str]] = []
        spent = 0
        for weight, gram in sorted(weighted, key=lambda pair: (-pair[0], pair[1]))[:MAX_QUERY_GRAMS]:
            if chosen and spent + self._grams.frequency(gram) > GRAM_POSTINGS_BUDGET:
                break
            chosen.append((weight, gram))
            spent += self._grams.frequency(gram)
        chosen.sort(key=lambda pair: pair[1])
        slots, values, owner = self._grams.gather([gram for _, gram in chosen])
        alive = self._slots.live[slots]
        query_weight = np.asarray([weight / norm for weight, _ in chosen])
        contributions = values[alive, 0] * query_weight[owner[alive]]
        return np.bincount(slots[alive], weights=contributions, minlength=count).astype(np.float64, copy=False)

    def optimize(self) -> None:
        """Merge the postings into one segment each: call after a full build."""
        self._words.optimize()
        self._grams.optimize()

    def query_terms(self, query: str, locale: str | None = None) -> dict[str, float]:
        """The query's terms as the index knows them (stemmed in the language of `locale`, English without
        one): corrected typos and joined split words included."""
        analyser = features.analyser_for(locale)
        weighted: dict[str, float] = {}
        for term in analyser.terms(query):
            for known, weight in self._correct(term):
                weighted[known] = weighted.get(known, 0.0) + weight
        for first, second in itertools.pairwise(analyser.words(query)):
            joined = analyser.stem(first + second)
            if joined in self._words:
                weighted[joined] = weighted.get(joined, 0.0) + 1.0
        return weighted

    def _correct(self, term: str) -> tuple[tuple[str, float], ...]:
        """A word the articles never use is most likely a typo of the closest one they do use."""
        if term in self.vocabulary or len(term) < 4 or not term.isalpha():
            return ((term, 1.0),)
        if term not in self._corrections:
            if len(self._corrections) > 10_000:
                self._corrections.clear()
            found = self.vocabulary.closest(term, self.document_frequency)
            self._corrections[term] = ((found[0], 0.8 if found[1] == 1 else 0.6),) if found else ((term, 1.0),)
        return self._corrections[term]

    def exact_title_slots(self, query: str) -> set[int]:
        return set(self._titles.get(features.title_key(query), ()))

    def facet_mask(self, field_name: str, values: Sequence[str]) -> npt.NDArray[np.bool_]:
        mask = np.zeros(self._slots.count, dtype=bool)
        for value in values:
            slots = self._facets.get((field_name, value.lower()))
            if slots:
                mask[np.fromiter(slots, dtype=np.int64, count=len(slots))] = True
        return mask

    def kind_mask(self, kind: str) -> npt.NDArray[np.bool_]:
        """Slots of one kind (read only). Kept until the documents change: every suggestion asks for the
        articles, and over 100,000 of them making the mask costs 2 ms."""
        mask = self._kind_masks.get(kind)
        if mask is None or len(mask) != self._slots.count:
            mask = self.facet_mask("kind", [kind])
            mask.flags.writeable = False
            self._kind_masks[kind] = mask
        return mask

    def live_mask(self) -> npt.NDArray[np.bool_]:
        return self._slots.live[: self._slots.count]

    def document_frequency(self, term: str) -> int:
        return self._words.frequency(term)

    def memory_bytes(self) -> int:
        """Bytes held by the postings and per-slot arrays (Python objects of the maps not counted)."""
        slots = self._slots
        return self._words.nbytes() + self._grams.nbytes() + slots.live.nbytes + slots.title_len.nbytes * 2


def _leaders(scores: Scores, count: int) -> npt.NDArray[np.int32]:
    """Slots scoring above zero and at least the count-th best score (ties included)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > count:
        threshold = np.partition(scores[positive], len(positive) - count)[len(positive) - count]
        positive = positive[scores[positive] >= threshold]
    return positive.astype(np.int32)


def _facets(document: IndexedDocument) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    return tuple(document.products), tuple(document.tags), document.locale


def _facet_keys(entry: Entry) -> list[tuple[str, str]]:
    keys = [("kind", entry.kind), ("locale", entry.locale.lower())]
    keys += [("product", product.lower()) for product in entry.products]
    keys += [("tag", tag.lower()) for tag in entry.tags]
    return keys
