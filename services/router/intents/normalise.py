"""Text normalisation shared by training and classification, so both see a ticket's words the same way."""

from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_DIGITS = re.compile(r"\d+")
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'"})
_SPACE = re.compile(r"\s+")

# Customers write the same intent with different amounts, dates, links and addresses; keeping their shape
# ("a number", "a link") and dropping their value stops a model from learning "£25" as a sign of an intent.
URL_TOKEN = " xurlx "
EMAIL_TOKEN = " xemailx "
NUMBER_TOKEN = "0"


def normalise_text(text: str) -> str:
    """The lexical form of a text: NFKC, lower case, no accents, placeholders for links, emails and numbers."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = _URL.sub(URL_TOKEN, text)
    text = _EMAIL.sub(EMAIL_TOKEN, text)
    text = _DIGITS.sub(NUMBER_TOKEN, text)
    decomposed = unicodedata.normalize("NFD", text.casefold())
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACE.sub(" ", text).strip()
