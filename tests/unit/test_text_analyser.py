"""The shared text analyser: one normalisation, one tokeniser, Snowball stems in the text's language."""

from __future__ import annotations

import pytest

from shared.text.analyser import (
    DEFAULT_LANGUAGE,
    Analyser,
    camel_parts,
    language_of,
    normalise,
    normalise_values,
)


def test_normalisation_folds_width_case_accents_and_apostrophes() -> None:
    assert (
        normalise("\uff23af\u00e9 \uff24\u00c9J\u00c0 Stra\u00dfe \ufb01le don\u2019t")
        == "cafe deja strasse file don't"
    )


def test_words_are_letters_and_digits_of_any_script_apostrophes_joined() -> None:
    assert Analyser().words("Don't re-install Windows 11; Привет, мир!") == [
        "dont",
        "re",
        "install",
        "windows",
        "11",
        "привет",
        "мир",
    ]


def test_inflections_meet_on_one_stem() -> None:
    analyser = Analyser()
    assert analyser.terms("Deleting accounts") == analyser.terms("delete account")
    assert analyser.terms("crashes") == analyser.terms("crashing") == analyser.terms("crashed")
    assert analyser.terms("the payments were refunded") == analyser.terms("payment refund")


def test_extra_stop_words_belong_to_the_use_that_names_them() -> None:
    assert Analyser().terms("please help the team") == ["pleas", "help", "team"]
    assert Analyser.for_locale("en", extra_stop_words=frozenset({"please", "help"})).terms("please help team") == [
        "team"
    ]


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("fr-CA", "french"),
        ("pt_BR", "portuguese"),
        ("DE", "german"),
        ("en-GB", "english"),
        ("xx", DEFAULT_LANGUAGE),
        ("", DEFAULT_LANGUAGE),
        (None, DEFAULT_LANGUAGE),
        ("fr-" + "x" * 100, DEFAULT_LANGUAGE),
    ],
)
def test_the_language_comes_from_the_locale(locale: str | None, language: str) -> None:
    assert language_of(locale) == language


def test_a_locale_stems_in_its_language() -> None:
    french = Analyser.for_locale("fr")
    assert french.terms("chercher") == french.terms("cherche") == ["cherch"]
    assert Analyser.for_locale("en").terms("chercher") == ["chercher"]


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="klingon"):
        Analyser(language="klingon")


def test_identifiers_split_at_case_and_kept_whole() -> None:
    assert camel_parts("HTTPServerError2") == ["HTTP", "Server", "Error", "2"]
    analyser = Analyser(identifiers=True)
    assert analyser.words("FileSystem.listStatus iPhone Café") == [
        "filesystem",
        "file",
        "system",
        "liststatus",
        "list",
        "status",
        "iphone",
        "phone",
        "cafe",
    ]


def test_values_become_placeholders_for_a_classifier() -> None:
    text = "Café refund of £25.50 — see https://Shop.example/x?a=1 or write to Bob@Example.com"
    assert normalise_values(text) == "cafe refund of £0.0 — see xurlx or write to xemailx"
