"""Ranking on a small fixed corpus: exact titles, typos, paraphrase, missing words, filters, pages."""

from __future__ import annotations

import random
import uuid

import pytest

from services.knowledge.search.index import IndexedDocument, SearchIndex
from services.knowledge.search.memory import TextMemory
from services.knowledge.search.ranking import Filters, Ranker
from tests.knowledge_factories import CORPUS, corpus_documents

TITLES = [title for title, *_ in CORPUS]


@pytest.fixture
def ranker() -> Ranker:
    index = SearchIndex()
    index.put(corpus_documents())
    return Ranker(index, TextMemory())


NO_FILTERS = Filters()


def top_titles(ranker: Ranker, query: str, filters: Filters = NO_FILTERS, limit: int = 3) -> list[str]:
    hits, _ = ranker.rank(query, filters, limit=limit)
    return [hit.entry.title for hit in hits]


def test_an_exact_title_is_the_first_hit_and_marked_exact(ranker: Ranker) -> None:
    hits, _ = ranker.rank("Reset a forgotten password")
    assert hits[0].entry.title == "Reset a forgotten password"
    assert hits[0].exact


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("payment with my card gets declined", TITLES[0]),
        ("I can't remember my password", TITLES[1]),
        ("how do I close my account for good", TITLES[2]),
        ("download my monthly statement", TITLES[3]),
        ("the sms code for login never comes", TITLES[5]),
        ("send back a broken product and get my money back", TITLES[6]),
    ],
)
def test_a_paraphrase_finds_the_article(ranker: Ranker, query: str, expected: str) -> None:
    assert top_titles(ranker, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pasword resett", TITLES[1]),
        ("delte acount permanantly", TITLES[2]),
        ("two factor autentication codes", TITLES[5]),
        ("increse spending limt", TITLES[7]),
    ],
)
def test_a_query_with_typos_finds_the_article(ranker: Ranker, query: str, expected: str) -> None:
    assert top_titles(ranker, query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("password", TITLES[1]), ("delivery address", TITLES[4]), ("refund", TITLES[6]), ("limit", TITLES[7])],
)
def test_a_query_missing_most_words_still_finds_the_article(ranker: Ranker, query: str, expected: str) -> None:
    assert top_titles(ranker, query)[0] == expected


def test_a_word_split_in_two_is_joined_when_the_articles_use_it_whole(ranker: Ranker) -> None:
    index = SearchIndex()
    index.put(corpus_documents())
    assert "signin" not in index.query_terms("sign in")  # nothing to join to: no article says "signin"
    assert index.query_terms("pass word")["password"] == 1.0


def test_filters_keep_only_matching_products_tags_and_locales(ranker: Ranker) -> None:
    shop_only = top_titles(ranker, "refund money card", Filters(products=("shop",)), limit=10)
    assert shop_only
    assert all(t in (TITLES[4], TITLES[6]) for t in shop_only)
    assert set(top_titles(ranker, "card", Filters(tags=("payments",)), limit=10)) == {TITLES[0], TITLES[7]}
    assert top_titles(ranker, "card", Filters(locales=("de",))) == []


def test_pages_follow_each_other_without_repeats_or_gaps(ranker: Ranker) -> None:
    everything, more = ranker.rank("card account app", limit=50)
    assert not more
    seen = []
    hits, more = ranker.rank("card account app", limit=2)
    seen += hits
    while more:
        hits, more = ranker.rank("card account app", after=hits[-1].position, limit=2)
        seen += hits
    assert [h.entry.id for h in seen] == [h.entry.id for h in everything]


def test_the_order_does_not_depend_on_the_order_articles_were_added(ranker: Ranker) -> None:
    shuffled = corpus_documents()
    random.Random(3).shuffle(shuffled)
    other = SearchIndex()
    for document in shuffled:
        other.put([document])
    again = Ranker(other, TextMemory())
    for query in ("card declined", "pasword", "order address refund", "app login code"):
        first = [(h.entry.id, h.score) for h in ranker.rank(query, limit=8)[0]]
        second = [(h.entry.id, h.score) for h in again.rank(query, limit=8)[0]]
        assert first == second


def test_a_removed_article_is_never_found_again() -> None:
    index = SearchIndex()
    index.put(corpus_documents())
    index.remove(uuid.UUID(int=2))
    assert TITLES[1] not in top_titles(Ranker(index, TextMemory()), "forgotten password", limit=10)


def test_a_new_version_replaces_the_old_text() -> None:
    index = SearchIndex()
    documents = corpus_documents()
    index.put(documents)
    old = documents[1]
    index.put([type(old)(old.id, "article", 2, "Unlock a blocked card", "Call us to unblock it.")])
    ranker = Ranker(index, TextMemory())
    assert "Unlock a blocked card" in top_titles(ranker, "blocked card")
    assert "Unlock a blocked card" not in top_titles(ranker, "forgotten password")


def test_feedback_lifts_the_article_that_answered_similar_questions(ranker: Ranker) -> None:
    query = "my statement shows a payment twice"
    before = top_titles(ranker, query, limit=8)
    ranker.feedback.remember([(uuid.uuid4(), uuid.UUID(int=1), 1.0, "statement shows the same payment twice")])
    after = top_titles(ranker, query, limit=8)
    assert after[0] == TITLES[0]
    assert before[0] != TITLES[0]


def test_feedback_never_hides_an_exact_title_match(ranker: Ranker) -> None:
    for _ in range(20):
        ranker.feedback.remember([(uuid.uuid4(), uuid.UUID(int=4), 1.0, "export my statements as pdf please")])
    assert top_titles(ranker, "Export my statements as PDF")[0] == TITLES[3]
    ranker.feedback.remember([(uuid.uuid4(), uuid.UUID(int=4), -1.0, "Export my statements as PDF")])
    assert top_titles(ranker, "Export my statements as PDF")[0] == TITLES[3]


def test_an_article_that_did_not_help_moves_down_for_similar_questions(ranker: Ranker) -> None:
    query = "cannot sign in, the code is not arriving"
    before = {hit.entry.title: hit.score for hit in ranker.rank(query, limit=8)[0]}
    ranker.feedback.remember([(uuid.uuid4(), uuid.UUID(int=6), -1.0, "sign in code is not arriving")])
    ranker.feedback.remember([(uuid.uuid4(), uuid.UUID(int=2), 1.0, "sign in code is not arriving")])
    after = {hit.entry.title: hit.score for hit in ranker.rank(query, limit=8)[0]}
    assert after[TITLES[5]] < before[TITLES[5]]
    assert after[TITLES[1]] > before.get(TITLES[1], 0.0)


def test_an_article_is_stemmed_in_its_locale_and_so_is_a_query_for_that_locale() -> None:
    index = SearchIndex()
    french = IndexedDocument(
        id=uuid.UUID(int=100),
        kind="article",
        version=1,
        title="Où chercher une facture",
        body="Cherchez vos factures dans l'espace client, rubrique paiements.",
        locale="fr-FR",
    )
    index.put([*corpus_documents(), french])
    assert index.query_terms("chercher les factures", "fr") == {"cherch": 1.0, "factur": 1.0, "le": 1.0}
    hits, _ = Ranker(index, TextMemory()).rank("chercher les factures", Filters(locales=("fr-fr",)))
    assert [hit.entry.id for hit in hits] == [french.id]
