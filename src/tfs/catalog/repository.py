"""Programs' catalogs as stored: the SQL of the catalog (run in a transaction, never committing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from tfs.catalog import search, views
from tfs.catalog.document import ProgramCatalog
from tfs.db.transaction import Transaction

_decode_languages = msgspec.json.Decoder(list[str]).decode


@dataclass(frozen=True)
class Head:
    """What a read needs to know of a program before it reads: its languages (the first is the
    default) and the version of its catalog (a strong ETag is made of it)."""

    program_id: int
    version: int
    digest: str
    languages: tuple[str, ...]
    catalogs: int
    items: int
    imported_at: datetime


@dataclass(frozen=True)
class StoredLevel:
    catalog_id: int
    parent_id: int | None
    views: bytes  # JSON object: language -> the level's view


@dataclass(frozen=True)
class ItemQuery:
    """The filters of an item list; None is no filter."""

    min_points: int | None = None
    max_points: int | None = None
    product_code: str | None = None
    words: tuple[str, ...] = ()


# Version 0 is a program row made by a first import that has not committed yet.
_HEAD = (
    "SELECT program_id, version, digest, languages, catalog_count, item_count, imported_at"
    " FROM catalog_programs WHERE version > 0"
)

# The filters are fixed fragments with their NULL cases in the text, so that each statement's
# text is constant (one prepared statement whatever is asked).
_ITEMS = (
    "SELECT v.view FROM reward_items i"
    " JOIN reward_item_views v ON v.item_pk = i.item_pk AND v.language = ?"
    " WHERE i.item_pk IN (SELECT item_pk FROM reward_item_catalogs"
    "  WHERE program_id = ? AND catalog_id IN (?))"
    " AND (CAST(? AS BIGINT) IS NULL OR i.point_value >= ?)"
    " AND (CAST(? AS BIGINT) IS NULL OR i.point_value <= ?)"
    " AND (CAST(? AS TEXT) IS NULL OR NOT i.restricted OR EXISTS ("
    "  SELECT 1 FROM reward_item_products p WHERE p.item_pk = i.item_pk AND p.product_code = ?))"
)
_ORDER = " ORDER BY i.position"
# With a keyword the index's matches drive (a rare word matches a few items of 20,000), and each
# is checked for the leaves: 0.1-0.3 ms where scanning the leaves' items first took 13-16 ms.
_FILTERS = (
    " AND (CAST(? AS BIGINT) IS NULL OR i.point_value >= ?)"
    " AND (CAST(? AS BIGINT) IS NULL OR i.point_value <= ?)"
    " AND (CAST(? AS TEXT) IS NULL OR NOT i.restricted OR EXISTS ("
    "  SELECT 1 FROM reward_item_products p WHERE p.item_pk = i.item_pk AND p.product_code = ?))"
    " AND EXISTS (SELECT 1 FROM reward_item_catalogs c"
    "  WHERE c.item_pk = i.item_pk AND c.program_id = ? AND c.catalog_id IN (?))"
    " ORDER BY i.position"
)
_WORDS_SQLITE = (  # constant texts only
    "SELECT v.view FROM reward_item_search s"  # noqa: S608
    " JOIN reward_items i ON i.item_pk = s.rowid"
    " JOIN reward_item_views v ON v.item_pk = i.item_pk AND v.language = ?"
    " WHERE reward_item_search MATCH ?" + _FILTERS
)
_WORDS_PG = (
    "SELECT v.view FROM reward_item_search s"  # noqa: S608
    " JOIN reward_items i ON i.item_pk = s.item_pk"
    " JOIN reward_item_views v ON v.item_pk = i.item_pk AND v.language = ?"
    " WHERE s.words @@ to_tsquery('simple', ?)" + _FILTERS
)

# Leaves that hold at least one item available to a bank product.
_LEAVES_FOR_PRODUCT = (
    "SELECT DISTINCT c.catalog_id FROM reward_item_catalogs c"
    " JOIN reward_items i ON i.item_pk = c.item_pk"
    " WHERE c.program_id = ? AND (NOT i.restricted OR EXISTS ("
    "  SELECT 1 FROM reward_item_products p WHERE p.item_pk = i.item_pk AND p.product_code = ?))"
)

_LOCK_SQLITE = "SELECT version, digest FROM catalog_programs WHERE program_id = ?"
_LOCK_PG = _LOCK_SQLITE + " FOR UPDATE"
_ITEM_KEYS = "SELECT item_id, item_pk FROM reward_items WHERE program_id = ?"
_INDEX_PG = "INSERT INTO reward_item_search (item_pk, words) VALUES (?, to_tsvector('simple', ?))"
# A program's rows, children first (the FTS5 table has no foreign key to cascade along).
_DELETE_TAIL = (
    "DELETE FROM reward_item_views"
    " WHERE item_pk IN (SELECT item_pk FROM reward_items WHERE program_id = ?)",
    "DELETE FROM reward_item_products"
    " WHERE item_pk IN (SELECT item_pk FROM reward_items WHERE program_id = ?)",
    "DELETE FROM reward_item_catalogs WHERE program_id = ?",
    "DELETE FROM reward_items WHERE program_id = ?",
    "DELETE FROM catalog_levels WHERE program_id = ?",
)
_DELETE_SQLITE = (
    "DELETE FROM reward_item_search"
    " WHERE rowid IN (SELECT item_pk FROM reward_items WHERE program_id = ?)",
    *_DELETE_TAIL,
)
_DELETE_PG = (
    "DELETE FROM reward_item_search"
    " WHERE item_pk IN (SELECT item_pk FROM reward_items WHERE program_id = ?)",
    *_DELETE_TAIL,
)


class Catalogs:
    def __init__(self, tx: Transaction) -> None:
        self.sql = tx.sql

    # --- reads ---

    def head(self, program_id: int) -> Head | None:
        rows = self.sql.rows(_HEAD + " AND program_id = ?", (program_id,))
        return self._head(rows[0]) if rows else None

    def heads(self) -> list[Head]:
        return [self._head(r) for r in self.sql.rows(_HEAD + " ORDER BY program_id")]

    def _head(self, row: Any) -> Head:
        program_id, version, digest, languages, catalogs, items, imported_at = row
        return Head(
            int(program_id),
            int(version),
            digest,
            tuple(_decode_languages(languages)),
            int(catalogs),
            int(items),
            self.sql.read_time(imported_at),
        )

    def levels(self, program_id: int) -> list[StoredLevel]:
        """Every level of the program, parents first."""
        rows = self.sql.rows(
            "SELECT catalog_id, parent_id, views FROM catalog_levels"
            " WHERE program_id = ? ORDER BY position",
            (program_id,),
        )
        return [StoredLevel(int(c), None if p is None else int(p), _bytes(v)) for c, p, v in rows]

    def leaves_for_product(self, program_id: int, product_code: str) -> set[int]:
        rows = self.sql.rows(_LEAVES_FOR_PRODUCT, (program_id, product_code))
        return {int(r[0]) for r in rows}

    def item_views(
        self, program_id: int, leaves: Sequence[int], language: str, q: ItemQuery
    ) -> list[bytes]:
        """The views of the items on these leaves that pass the filters, in document order."""
        filters: list[Any] = [q.min_points, q.min_points, q.max_points, q.max_points]
        filters += [q.product_code, q.product_code]
        if q.words:
            if self.sql.postgres:
                sql, match = _WORDS_PG, search.tsquery(q.words)
            else:
                sql, match = _WORDS_SQLITE, search.fts5_query(q.words)
            params = [language, match, *filters, program_id, list(leaves)]
        else:
            sql, params = _ITEMS + _ORDER, [language, program_id, list(leaves), *filters]
        rows = self.sql.rows_lists(sql, params)
        return [_bytes(r[0]) for r in rows]

    def known_items(self, program_id: int, item_ids: Sequence[int]) -> set[int]:
        rows = self.sql.rows_in(
            "SELECT item_id FROM reward_items WHERE item_id IN (?) AND program_id = ?",
            list(item_ids),
            (program_id,),
        )
        return {int(r[0]) for r in rows}

    def documents(self, program_id: int) -> tuple[list[bytes], list[bytes]]:
        """The stored documents of the program's levels and items, in document order."""
        levels = self.sql.rows(
            "SELECT document FROM catalog_levels WHERE program_id = ? ORDER BY position",
            (program_id,),
        )
        items = self.sql.rows(
            "SELECT document FROM reward_items WHERE program_id = ? ORDER BY position",
            (program_id,),
        )
        return [r[0].encode() for r in levels], [r[0].encode() for r in items]

    # --- writes ---

    def lock(self, program_id: int, now: datetime) -> tuple[int, str]:
        """The program's version and digest (0 and "" for a program without a catalog), its
        row locked until the transaction ends (on SQLite the writer's turn is the lock). The
        row is made first if need be, so that two first imports queue on it."""
        self.sql.execute(
            "INSERT INTO catalog_programs (program_id, languages, version, digest,"
            " catalog_count, item_count, imported_at) VALUES (?, '[]', 0, '', 0, 0, ?)"
            " ON CONFLICT DO NOTHING",
            (program_id, self.sql.time(now)),
        )
        rows = self.sql.rows(_LOCK_PG if self.sql.postgres else _LOCK_SQLITE, (program_id,))
        return int(rows[0][0]), rows[0][1]

    def replace(self, catalog: ProgramCatalog, version: int, now: datetime) -> None:
        """Put this catalog in the place of the program's stored one (if any), as `version`."""
        sql, pid = self.sql, catalog.program_id
        for statement in _DELETE_PG if self.sql.postgres else _DELETE_SQLITE:
            sql.execute(statement, (pid,))
        encode = msgspec.json.encode
        sql.insert(
            "catalog_levels",
            ("program_id", "catalog_id", "parent_id", "position", "document", "views"),
            [
                (
                    pid,
                    lv.id,
                    lv.parent_id,
                    lv.position,
                    encode(lv.document).decode(),
                    views.level_views(catalog, lv).decode(),
                )
                for lv in catalog.levels
            ],
        )
        sql.insert(
            "reward_items",
            ("program_id", "item_id", "position", "point_value", "restricted", "document"),
            [
                (
                    pid,
                    it.id,
                    it.position,
                    it.point_value,
                    bool(it.product_codes),
                    encode(it.document).decode(),
                )
                for it in catalog.items
            ],
        )
        pks = dict(sql.rows(_ITEM_KEYS, (pid,)))
        rows_views, rows_catalogs, rows_products, rows_search = [], [], [], []
        for it in catalog.items:
            pk = pks[it.id]
            rows_views += [(pk, lang, v.decode()) for lang, v in views.item_views(catalog, it)]
            rows_catalogs += [(pid, c, pk) for c in it.catalog_ids]
            rows_products += [(pk, code) for code in it.product_codes]
            rows_search.append((pk, search.index_text(_searched_texts(it.document))))
        sql.insert("reward_item_views", ("item_pk", "language", "view"), rows_views)
        sql.insert("reward_item_catalogs", ("program_id", "catalog_id", "item_pk"), rows_catalogs)
        sql.insert("reward_item_products", ("item_pk", "product_code"), rows_products)
        if self.sql.postgres:
            sql.execute_many(_INDEX_PG, rows_search)
        else:
            sql.insert("reward_item_search", ("rowid", "words"), rows_search)
        row = (
            encode(list(catalog.languages)).decode(),
            version,
            catalog.digest,
            len(catalog.levels),
            len(catalog.items),
            sql.time(now),
            pid,
        )
        sql.execute(
            "UPDATE catalog_programs SET languages = ?, version = ?, digest = ?,"
            " catalog_count = ?, item_count = ?, imported_at = ? WHERE program_id = ?",
            row,
        )


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _searched_texts(doc: dict[str, Any]) -> list[str]:
    """What a keyword is looked for in: the descriptions in every language, and the keywords."""
    texts = list(doc["shortDescription"].values())
    texts += list((doc.get("longDescription") or {}).values())
    texts += doc["keywords"]
    return texts
