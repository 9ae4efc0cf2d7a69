"""What a suggestion saves from ticket to ticket: passages analysed once per article version, same snippets."""

from __future__ import annotations

import unicodedata
import uuid

from services.knowledge.search.index import IndexedDocument, SearchIndex
from services.knowledge.search.snippets import PassageCache, best_passage, passages_of, query_terms, snippet
from shared.events.catalogue import KnowledgeSuggested
from shared.text.analyser import _APOSTROPHES, normalise
from tests.factories import ticket_opened
from tests.knowledge_factories import article_request
from tests.unit.knowledge.conftest import Knowledge

BODY = (
    "Open Settings and choose Security. Tap Reset password and follow the link we email you.\n"
    "If the email does not arrive, check the spam folder. Links expire after one hour."
)


def test_a_snippet_from_analysed_passages_is_the_snippet_of_the_body() -> None:
    for query, expected in (
        ("reset my password", "… Tap Reset password and follow the link we email you. " + BODY.split("\n")[1]),
        (
            "the email never arrived",
            "… If the email does not arrive, check the spam folder. Links expire after one hour.",
        ),
        ("nothing in common", BODY.replace("\n", " ")),
    ):
        assert snippet(BODY, query, limit=500) == expected
        assert best_passage(passages_of(BODY), query_terms(query), limit=500) == expected
    assert best_passage(passages_of(""), query_terms("password")) == ""


def test_the_passage_cache_drops_the_least_recently_used_past_its_budget() -> None:
    cache = PassageCache(max_chars=2 * len(BODY))
    first, second, third = (uuid.uuid4() for _ in range(3))
    cache.put(first, 1, BODY)
    cache.put(second, 1, BODY)
    assert cache.get(first, 1) is not None  # now the most recent
    cache.put(third, 1, BODY)
    assert (cache.get(first, 1) is not None, cache.get(second, 1), cache.get(third, 1) is not None) == (
        True,
        None,
        True,
    )
    assert cache.chars == 2 * len(BODY)
    assert cache.get(first, 2) is None  # another version is another body


def test_a_body_larger_than_the_whole_cache_is_analysed_but_not_kept() -> None:
    cache = PassageCache(max_chars=len(BODY) - 1)
    passages = cache.put(uuid.uuid4(), 1, BODY)
    assert passages.texts
    assert (len(cache), cache.chars) == (0, 0)


def test_ascii_text_folds_as_the_full_unicode_path_does() -> None:
    ascii_text = "".join(chr(code) for code in range(128)) + " Cafe RESUME naive"
    # normalise as it was before ASCII skipped the per-character pass
    folded = unicodedata.normalize("NFKC", ascii_text).translate(_APOSTROPHES).casefold()
    slow = unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    )
    assert normalise(ascii_text) == slow
    assert normalise("Café RÉSUMÉ naïve") == "cafe resume naive"


async def test_tickets_suggesting_one_article_version_analyse_its_body_once(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request(title="Reset your password", body=BODY)])
    for _ in range(2):
        await knowledge.deliver(ticket_opened(subject="Reset my password", description="The email never arrived"))
    first, second = await knowledge.published(KnowledgeSuggested)
    assert first.articles[0].snippet == second.articles[0].snippet
    assert first.articles[0].snippet.startswith("… Tap Reset password")
    cache = knowledge.replica.passages
    assert (cache.misses, cache.hits) == (1, 1)  # the first ticket read the body, the second did not
    assert (len(cache), cache.get(uuid.UUID(article["id"]), 1) is not None) == (1, True)


async def test_a_suggestion_after_an_edit_shows_the_new_versions_words(knowledge: Knowledge) -> None:
    [article] = await knowledge.create_articles([article_request(title="Reset your password", body=BODY)])
    before = ticket_opened(subject="Reset my password", description="The email never arrived")
    await knowledge.deliver(before)
    edited = await knowledge.client.patch(
        f"/v1/articles/{article['id']}", json={"version": 1, "body": "Passwords are reset by the email we send."}
    )
    assert edited.status_code == 200, edited.text
    after = ticket_opened(subject="Reset my password", description="The email never arrived")
    await knowledge.deliver(after)
    suggested = {event.ticket_id: event.articles[0] for event in await knowledge.published(KnowledgeSuggested)}
    assert (suggested[before.ticket_id].article_version, suggested[after.ticket_id].article_version) == (1, 2)
    assert suggested[after.ticket_id].snippet == "Passwords are reset by the email we send."


def _document(kind: str, title: str) -> IndexedDocument:
    return IndexedDocument(id=uuid.uuid4(), kind=kind, version=1, title=title, body=f"{title}. {BODY}")


def test_the_kept_kind_mask_follows_every_change_of_the_documents() -> None:
    index = SearchIndex()
    first, issue = _document("article", "Reset your password"), _document("known_issue", "Login fails")
    index.put([first, issue])
    articles = index.kind_mask("article")
    assert not articles.flags.writeable  # shared by every ranking until the documents change
    assert articles.tolist() == [True, False]
    second = _document("article", "Change your email")
    index.put([second])
    assert index.kind_mask("article").tolist() == [True, False, True]
    index.remove(first.id)
    assert index.kind_mask("article").tolist() == [False, False, True]
    assert index.kind_mask("known_issue").tolist() == [False, True, False]
