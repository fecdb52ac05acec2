"""Use cases of the catalog: import and export a program's catalog, read its levels and items.

Reads run in one snapshot (Store.snapshot), so that a reader sees one import or the next, never
a mix; an import replaces the program's whole catalog in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import msgspec

from tfs.access.read_nonces import ReadNonces
from tfs.access.usecases import Nonce, spend_nonce
from tfs.catalog import views
from tfs.catalog.cache import Shape, Shapes
from tfs.catalog.document import MAX_INT64, ProgramCatalog
from tfs.catalog.repository import Catalogs, Head, ItemQuery, StoredLevel
from tfs.db import deadline
from tfs.db.store import Store
from tfs.db.transaction import Transaction
from tfs.errors import InvalidCatalogParameter, UnknownCatalog

DEFAULT_LANGUAGE = "en_US"
IMPORT_TIMEOUT_S = 300.0

_decode_views = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


@dataclass(frozen=True)
class Imported:
    program_id: int
    version: int
    catalogs: int
    items: int
    changed: bool


def import_catalog(
    store: Store, catalog: ProgramCatalog, now: datetime, *, nonce: Nonce | None = None
) -> Imported:
    """Replace the program's catalog with this one and bump its version; the same document
    again (an export of it, say) changes nothing and keeps the version."""
    # Replacing 100,000 items may rightly hold a connection longer than a request's deadline.
    with deadline.allowance(IMPORT_TIMEOUT_S), store.transaction() as tx:
        spend_nonce(tx, nonce)
        repo = Catalogs(tx)
        version, digest = repo.lock(catalog.program_id, now)
        changed = digest != catalog.digest
        if changed:
            version += 1
            repo.replace(catalog, version, now)
    return Imported(catalog.program_id, version, len(catalog.levels), len(catalog.items), changed)


def export_catalog(store: Store, program_id: int) -> bytes | None:
    """The program's normalised document as JSON, or None when it has no catalog."""
    with store.snapshot() as tx:
        repo = Catalogs(tx)
        head = repo.head(program_id)
        if head is None:
            return None
        levels, items = repo.documents(program_id)
    return (
        b'{"programId":'
        + str(program_id).encode()
        + b',"languages":'
        + msgspec.json.encode(list(head.languages))
        + b',"catalogs":['
        + b",".join(levels)
        + b'],"rewardItems":['
        + b",".join(items)
        + b"]}"
    )


def list_programs(store: Store) -> list[Head]:
    with store.reading() as tx:
        return Catalogs(tx).heads()


async def check_in(reads: ReadNonces, program_id: int, nonce: Nonce | None) -> Head | None:
    """Spend the request's nonce and read the program's head: what a read needs before it may
    answer from what it has kept (the version says whether that is current)."""
    return await reads.spend_then(nonce, lambda tx: Catalogs(tx).head(program_id))


def language_of(head: Head, requested: str | None) -> str:
    """The requested language if the program has it (else a 400); without one, en_US where
    the program has it, else its default."""
    if requested is not None:
        if requested not in head.languages:
            raise InvalidCatalogParameter(
                f"language {requested} is not configured for program {head.program_id}."
            )
        return requested
    return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in head.languages else head.languages[0]


@dataclass(frozen=True)
class Answer:
    """A read's answer and the catalog version it was read from (0: no catalog)."""

    version: int
    body: bytes


def _view(level: StoredLevel, language: str) -> bytes:
    return bytes(_decode_views(level.views)[language])


def _with_ancestors(levels: list[StoredLevel], kept: set[int]) -> set[int]:
    parents = {lv.catalog_id: lv.parent_id for lv in levels}
    out: set[int] = set()
    for catalog_id in kept:
        node: int | None = catalog_id
        while node is not None and node not in out:
            out.add(node)
            node = parents.get(node)
    return out


def _program(
    repo: Catalogs, program_id: int, requested_language: str | None, shapes: Shapes | None
) -> tuple[Head, str, Shape] | None:
    """What every read starts from, in its snapshot: the program's head, the language to
    answer in, and its levels (kept by version in `shapes`); None when it has no catalog."""
    head = repo.head(program_id)
    if head is None:
        return None
    language = language_of(head, requested_language)

    def read() -> list[StoredLevel]:
        return repo.levels(program_id)

    shape = shapes.get(program_id, head.version, read) if shapes else Shape(read())
    return head, language, shape


def read_levels(
    store: Store,
    program_id: int,
    requested_language: str | None,
    product_code: str | None,
    shapes: Shapes | None = None,
) -> Answer:
    """Every level of the program, parents first; with a bank product, only the levels that
    hold (themselves or below them) an item available to it."""
    with store.snapshot() as tx:
        repo = Catalogs(tx)
        program = _program(repo, program_id, requested_language, shapes)
        if program is None:
            return Answer(0, views.catalogs_answer([]))
        head, language, shape = program
        kept = None
        if product_code is not None:
            kept = _with_ancestors(shape.levels, repo.leaves_for_product(program_id, product_code))
    shown = [_view(lv, language) for lv in shape.levels if kept is None or lv.catalog_id in kept]
    return Answer(head.version, views.catalogs_answer(shown))


def read_items(
    store: Store,
    program_id: int,
    catalog_id: int,
    requested_language: str | None,
    query: ItemQuery,
    shapes: Shapes | None = None,
) -> Answer:
    """The items of a catalog (of every leaf below it, for a level above the leaves) that pass
    the filters, in the document's order, each once."""
    with store.snapshot() as tx:
        repo = Catalogs(tx)
        program = _program(repo, program_id, requested_language, shapes)
        if program is None:
            return Answer(0, views.items_answer([]))
        head, language, shape = program
        if catalog_id not in shape.ids:
            raise UnknownCatalog()
        leaves = shape.leaves_under(catalog_id)
        items = repo.item_views(program_id, leaves, language, query)
    return Answer(head.version, views.items_answer(items))


def unknown_reward_items(
    tx: Transaction, program_id: str | None, reward_item_ids: Iterable[str | None]
) -> set[str]:
    """Of these reward item ids, those the program's catalog does not hold; none when the
    program has no catalog (orders of programs whose catalogs live elsewhere stay possible)."""
    if program_id is None or not (program_id.isascii() and program_id.isdigit()):
        return set()
    pid = int(program_id)
    repo = Catalogs(tx)
    if pid > MAX_INT64 or repo.head(pid) is None:
        return set()
    given = {r for r in reward_item_ids if r is not None}
    numeric = [int(r) for r in given if r.isascii() and r.isdigit() and len(r) <= 18]
    known = {str(i) for i in repo.known_items(pid, numeric)} if numeric else set()
    return given - known
