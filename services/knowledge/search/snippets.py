"""The snippet shown under a hit: the passage of the body that shares most with the query."""

from __future__ import annotations

from services.knowledge.search import features

SNIPPET_CHARS = 240


def snippet(body: str, query: str, *, limit: int = SNIPPET_CHARS) -> str:
    """The sentence (and what follows it, up to `limit` characters) that best covers the query's terms."""
    wanted = set(features.ANALYSER.terms(query))
    passages = features.sentences(body)
    if not passages:
        return ""
    best, best_score = 0, -1.0
    for position, passage in enumerate(passages):
        found = set(features.ANALYSER.terms(passage)) & wanted
        score = len(found) - position * 1e-3  # earlier wins a tie: openings tend to state the answer
        if score > best_score:
            best, best_score = position, score
    chosen = " ".join(passages[best:])
    if len(chosen) <= limit:
        return ("… " if best else "") + chosen
    cut = chosen[:limit].rsplit(" ", 1)[0]
    return ("… " if best else "") + cut + " …"
