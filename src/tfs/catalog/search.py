"""Keyword matching: the one folding of text into words, for the index and for queries.

Words are folded and split here, not by the database, so that SQLite's FTS5 and PostgreSQL's
tsvector see the same space-separated words and match the same way: case and accents folded
(`Café` → `cafe`), split at anything that is not a letter or a digit, whole words only, every
word of a query required, no stemming (docs/catalog.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The folded words of a text, in order (repeats kept)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(bare)


def index_text(texts: Iterable[str]) -> str:
    """What the index holds for an item: each folded word of its texts once."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
    return " ".join(seen)


def fts5_query(query_words: Iterable[str]) -> str:
    """An FTS5 MATCH expression requiring every word: each a quoted string, so that no word
    (`and`, `or`, `near`) is read as an operator."""
    return " ".join(f'"{w}"' for w in query_words)


def tsquery(query_words: Iterable[str]) -> str:
    """A to_tsquery('simple', …) text requiring every word (words hold letters and digits
    only, so none needs quoting)."""
    return " & ".join(query_words)
