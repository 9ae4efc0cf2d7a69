"""One text analyser for every service: how a text becomes normalised words and stemmed terms.

The knowledge search, the notifier's duplicate detection and the router's intents see a customer's words
the same way: Unicode NFKC, case folded, accents stripped ("Café" and "cafe" are one word to a customer),
apostrophes of every kind made one (and dropped inside words, "don't" is "dont"). Words are runs of
letters and digits in any script; terms are the words that are not stop words, stemmed by Snowball
(PyStemmer, in C) in the language of the article or ticket, English when it has none or Snowball has no
stemmer for it. Each use configures what is its own (extra stop words, identifiers split at camelCase)
but never analyses differently: docs/decisions/0039-one-text-analyser.md.

    analyser = Analyser.for_locale("fr-CA", extra_stop_words=REQUEST_FILLER)
    analyser.terms("Supprimer les comptes")    # ['supprim', 'le', 'compt']: no French stop words (yet)

Changing what this module returns changes what the services store (the notifier's term postings): bump
ANALYSER_VERSION, and the notifier's migration of that version rebuilds them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import Stemmer

ANALYSER_VERSION = 2  # 1: each service's own light suffix stripper; 2: this module, Snowball
DEFAULT_LANGUAGE = "english"
MAX_LOCALE_CHARS = 35  # BCP 47's longest useful tag; longer is not a locale
# ISO 639-1 codes of the languages Snowball stems (Stemmer.algorithms() names them in English).
LANGUAGES = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fa": "persian",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
# Customers write the same need with different amounts, dates, links and addresses; keeping their shape
# ("a number", "a link") and dropping their value stops a model from learning "£25" as a sign of an intent.
URL_TOKEN = " xurlx "
EMAIL_TOKEN = " xemailx "
NUMBER_TOKEN = "0"
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'"})
_WORD = re.compile(r"[^\W_]+")
# A word as an identifier may be written: starting with a letter (`listStatus2`), or a run of digits.
_IDENTIFIER = re.compile(r"[^\W\d_][^\W_]*|\d+")
# English function words and contractions as customers type them without the apostrophe. Snowball ships
# no stop-word lists in PyStemmer; other languages rely on the rarity weighting alone.
ENGLISH_STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "ive",
        "youre",
        "whats",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "wont",
        "isnt",
    ]
)
STOP_WORDS = {DEFAULT_LANGUAGE: ENGLISH_STOP_WORDS}


def normalise(text: str) -> str:
    """NFKC, case folded, accents stripped, one kind of apostrophe: the form every analysis starts from."""
    return _fold(unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold())


def normalise_values(text: str) -> str:
    """`normalise`, with placeholders for links, emails and numbers and runs of space made one: the form
    a classifier learns from, so that it learns what was asked and not the amounts."""
    text = _URL.sub(URL_TOKEN, unicodedata.normalize("NFKC", text).translate(_APOSTROPHES))
    text = _DIGITS.sub(NUMBER_TOKEN, _EMAIL.sub(EMAIL_TOKEN, text))
    return _SPACE.sub(" ", _fold(text.casefold())).strip()


def _fold(text: str) -> str:
    """Accents stripped (the combining marks NFD separates), composed again."""
    if text.isascii():
        return text  # has no marks, and NFD and NFC leave it as it is: most text, at no cost per character
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(char for char in decomposed if not unicodedata.combining(char)))


def language_of(locale: str | None) -> str:
    """The Snowball language of a locale ("fr-CA", "pt_BR", "en"); English for none or an unknown one."""
    if not locale or len(locale) > MAX_LOCALE_CHARS:
        return DEFAULT_LANGUAGE
    return LANGUAGES.get(re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0], DEFAULT_LANGUAGE)


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer keeps a cache of recent words per stemmer (10,000 by default): one stemmer per language.
    return Stemmer.Stemmer(language)


def camel_parts(token: str) -> list[str]:
    """An identifier cut where its case or kind changes: `HTTPServerError2` -> HTTP, Server, Error, 2."""
    parts: list[str] = []
    start = 0
    for i in range(1, len(token)):
        before, char = token[i - 1], token[i]
        if (
            before.isdigit() != char.isdigit()
            or (before.islower() and char.isupper())
            or (before.isupper() and char.isupper() and i + 1 < len(token) and token[i + 1].islower())
        ):
            parts.append(token[start:i])
            start = i
    parts.append(token[start:])
    return parts


@dataclass(frozen=True)
class Analyser:
    """Words and terms of texts in one language, with a use's own extra stop words.

    `identifiers`: words are read as code may write them, `FileSystem.listStatus` giving filesystem, file,
    system, liststatus, list, status (the whole identifier, then its parts), and one-character parts are
    dropped; for bug reports and logs.
    """

    language: str = DEFAULT_LANGUAGE
    extra_stop_words: frozenset[str] = frozenset()
    identifiers: bool = False
    stop_words: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES.values():
            raise ValueError(f"no Snowball stemmer for {self.language!r}")
        object.__setattr__(self, "stop_words", STOP_WORDS.get(self.language, frozenset()) | self.extra_stop_words)

    @classmethod
    def for_locale(
        cls, locale: str | None, *, extra_stop_words: frozenset[str] = frozenset(), identifiers: bool = False
    ) -> Analyser:
        return _analyser(language_of(locale), extra_stop_words, identifiers)

    def words(self, text: str) -> list[str]:
        """Every word of the text, normalised, stop words included (for exact titles, joins, snippets)."""
        if not self.identifiers:
            return _WORD.findall(normalise(text).replace("'", ""))
        # Case is what splits an identifier, so it is folded only after the split.
        plain = _fold(unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).replace("'", ""))
        words: list[str] = []
        for match in _IDENTIFIER.finditer(plain):
            token = match.group()
            parts = camel_parts(token)
            if len(parts) > 1:
                words.append(token.casefold())
            words.extend(folded for part in parts if len(folded := part.casefold()) > 1)
        return words

    def content_words(self, text: str) -> list[str]:
        """The words that carry meaning: stop words dropped, not stemmed (for character n-grams)."""
        return [word for word in self.words(text) if word not in self.stop_words]

    def stem(self, word: str) -> str:
        return str(_stemmer(self.language).stemWord(word))

    def stems(self, words: Iterable[str]) -> list[str]:
        return list(_stemmer(self.language).stemWords(list(words)))

    def terms(self, text: str) -> list[str]:
        """The terms of a text, in order: stems of the words that are not stop words."""
        return self.stems(self.content_words(text))

    def term_counts(self, text: str) -> Counter[str]:
        return Counter(self.terms(text))


@functools.cache
def _analyser(language: str, extra_stop_words: frozenset[str], identifiers: bool) -> Analyser:
    return Analyser(language, extra_stop_words, identifiers)
