"""A known issue's draft from a problem event, in words that are no one customer's (issue 22, decision 0031).

A problem event carries a few customers' reports verbatim. A draft that quoted them kept those words in
knowledge's table, in `KnownIssueUpdated` and in every copy downstream, where nothing links them to their
authors and no erasure can find them. So the draft is made of what belongs to nobody in particular: the
problem's intents, products, counts and first report, and the words and two-word phrases that at least
MIN_AUTHORS of the reports share (k-anonymity: what three different customers wrote is not one person's).
The reports come from distinct customers (the notifier keeps one report per author,
services/notifier/problems/sealing.py); a term counts once per report.

Words are read by the shared analyser (shared/text/analyser.py, decision 0039): normalised, lower case,
accents stripped, stop words and request filler dropped; emails and links are removed before, and any word
holding a digit (an order number, a phone number, an identifier) is never a candidate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from services.knowledge.search.features import REQUEST_FILLER
from shared.events.problems import ProblemState
from shared.sealing import is_sealed_item
from shared.text.analyser import EMAIL_TOKEN, URL_TOKEN, Analyser, normalise_values

MIN_AUTHORS = 3  # reports (each a different customer's) that must share a word before a draft shows it
MAX_PHRASES = 4
MAX_TITLE_CHARS = 120  # the column holds 300; a title is read in a list
MAX_LISTED = 5  # intents or products named in a draft
MAX_WORD_CHARS = 30  # longer is a token, a hash or a glued identifier, not a word
MAX_REPORT_CHARS = 5_000  # the notifier sends excerpts of 280; a replayed or foreign event is bounded here
DRAFT_FILLER = frozenset(["hey", "thank", "pls", "regards", "dear", "cheers", "ok", "okay", "hope", "still"])
_ANALYSER = Analyser.for_locale(None, extra_stop_words=REQUEST_FILLER | DRAFT_FILLER)
_PLACEHOLDERS = frozenset([EMAIL_TOKEN.strip(), URL_TOKEN.strip()])
# Customers' counts in steps (1, 2, 5, 10, 20, ...): a draft says "at least 20 customers" and changes
# (a new revision, an event) when the problem crosses a step, not with every report that joins.
_STEPS = (1, 2, 5)


def shared_phrases(reports: Sequence[str]) -> list[str]:
    """Words and two-word phrases found in at least MIN_AUTHORS reports: most shared first, phrases before
    single words, then in the order they first appear; a word already inside a chosen phrase is not repeated."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for report in reports:
        terms = _terms(report[:MAX_REPORT_CHARS])
        counts.update(set(terms))
        for term in terms:
            first_seen.setdefault(term, len(first_seen))
    common = [term for term, count in counts.items() if count >= MIN_AUTHORS]
    common.sort(key=lambda term: (-counts[term], -term.count(" "), first_seen[term]))
    chosen: list[str] = []
    covered: set[str] = set()
    for term in common:
        words = set(term.split())
        if words <= covered:
            continue
        chosen.append(term)
        covered |= words
        if len(chosen) == MAX_PHRASES:
            break
    return chosen


def draft_title(problem: ProblemState) -> str:
    """'Many customers report: app crashes, update (mobile-app)', or the problem's intents and products."""
    phrases = shared_phrases(opened_reports(problem))
    products = _listed(problem.products)
    if phrases:
        title = f"Many customers report: {', '.join(phrases)}"
        return bounded_title(f"{title} ({products})" if products else title)
    what = ", ".join(part for part in (_listed(problem.intents), products) if part)
    return bounded_title(
        f"Problem reported by many customers: {what}" if what else "Problem reported by many customers"
    )


def draft_symptoms(problem: ProblemState) -> str:
    """A short structured description: shared phrases, intents, products, counts in steps, first seen."""
    phrases = shared_phrases(opened_reports(problem))
    lines = [
        f"Reported by at least {_step(problem.customer_count)} customers "
        f"in at least {_step(problem.report_count)} reports, since {_when(problem.first_seen)}.",
    ]
    if phrases:
        lines.append(f"Words shared by {MIN_AUTHORS} or more customers' reports: {', '.join(phrases)}.")
    if problem.intents:
        lines.append(f"Intents: {_listed(problem.intents)}.")
    if problem.products:
        lines.append(f"Products: {_listed(problem.products)}.")
    return "\n".join(lines)


def opened_reports(problem: ProblemState) -> list[str]:
    # The dispatcher opened each author's report and left out an erased author's (shared/data_keys.py); one
    # still sealed (no opener, as in a replay tool) is ciphertext, no words.
    return [report for report in problem.representative_reports if not is_sealed_item(report)]


def _terms(report: str) -> list[str]:
    """The report's candidate words and two-word phrases, in order (repeats kept; counted once by the caller)."""
    words = _ANALYSER.words(normalise_values(report))
    plain = [word if _plain(word) else None for word in words]
    terms: list[str] = []
    for i, word in enumerate(plain):
        if word is None:
            continue
        terms.append(word)
        following = plain[i + 1] if i + 1 < len(plain) else None
        if following is not None:
            terms.append(f"{word} {following}")
    return terms


def _plain(word: str) -> bool:
    """A word that can be shown: letters only, not a stop word, not a placeholder for an email or a link."""
    return (
        word.isalpha()
        and 1 < len(word) <= MAX_WORD_CHARS
        and word not in _ANALYSER.stop_words
        and word not in _PLACEHOLDERS
    )


def _listed(labels: Sequence[str]) -> str:
    unique = sorted(set(labels))
    more = len(unique) - MAX_LISTED
    return ", ".join(unique[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def _step(count: int) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, ... not above the count (0 stays 0)."""
    if count < 1:
        return 0
    scale, best = 1, 1
    while scale <= count:
        for step in _STEPS:
            if step * scale <= count:
                best = step * scale
        scale *= 10
    return best


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def bounded_title(title: str) -> str:
    """A text as a title: one line, cut at a word within MAX_TITLE_CHARS."""
    line = " ".join(title.split())
    return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
