"""The routes of the catalog: Mastercard's getCatalogs and getItems, and the platform's import
and export of a program's catalog."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable

import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tfs import clock, limits
from tfs.access.authenticate import PLATFORM, VENDOR, Caller, require_platform
from tfs.catalog import document, search, usecases, views
from tfs.catalog.cache import AnswerCache, Shapes
from tfs.catalog.repository import Head, ItemQuery
from tfs.errors import (
    CatalogClientNotEntitled,
    CatalogNotFound,
    InvalidCatalogParameter,
    MissingProgramId,
    ValidationFailed,
)
from tfs.fields import printable
from tfs.http import AppContext, authenticated, ctx, decode, json_response, read_body, require_json

CACHE_CONTROL = "private, max-age=60"
# Reads that miss the kept answers run in at most this many threads at once: fewer than the
# engine's pool (8), so that none waits for, or opens and closes, an overflow connection (a new
# SQLite connection parses the schema again), and on two cores more threads only queue for the
# GIL. Measured: docs/performance.md.
READERS = 4
_INTEGER = re.compile(r"-?[0-9]{1,19}")
MAX_INT64 = 2**63 - 1


def answers(request: Request) -> AnswerCache:
    cache: AnswerCache = request.app.state.catalog_answers
    return cache


def shapes(request: Request) -> Shapes:
    kept: Shapes = request.app.state.catalog_shapes
    return kept


def _readers(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "catalog_readers", None)
    if limiter is None:  # made in the event loop, on the first read
        limiter = state.catalog_readers = anyio.CapacityLimiter(READERS)
    return limiter


# --- parameters -------------------------------------------------------------------------------


def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidCatalogParameter(f"{name} may be given once.")
    return values[0] if values else None


def _integer(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw) or not -MAX_INT64 - 1 <= int(raw) <= MAX_INT64:
        raise InvalidCatalogParameter(f"{name} must be an integer.")
    return int(raw)


def _program_id(request: Request) -> int:
    raw = _one(request, "program_id")
    if raw is None:
        raise MissingProgramId()
    value = _integer(raw, "program_id")
    assert value is not None
    return value


def _short_text(request: Request, name: str, max_len: int) -> str | None:
    raw = _one(request, name)
    if raw is not None and not (1 <= len(raw) <= max_len and printable(raw)):
        raise InvalidCatalogParameter(f"{name} must be 1 to {max_len} printable characters.")
    return raw


def _language(request: Request) -> str | None:
    """A language code (document.LANGUAGE, as a catalog declares its languages); whether the
    program configures it is the use case's question (the same 400)."""
    raw = _one(request, "language")
    if raw is not None and document.LANGUAGE.fullmatch(raw) is None:
        raise InvalidCatalogParameter("language must be a language code such as en_US.")
    return raw


def _item_query(request: Request) -> ItemQuery:
    low = _integer(_one(request, "min_points"), "min_points")
    high = _integer(_one(request, "max_points"), "max_points")
    if low is not None and high is not None and low > high:
        raise InvalidCatalogParameter("min_points must not be greater than max_points.")
    product = _short_text(request, "product_code", limits.MAX_PRODUCT_CODE_LENGTH)
    keyword = _short_text(request, "keyword", limits.MAX_KEYWORD_QUERY_LENGTH)
    words = tuple(dict.fromkeys(search.words(keyword))) if keyword else ()
    if len(words) > limits.MAX_KEYWORD_QUERY_WORDS:
        raise InvalidCatalogParameter(
            f"keyword may hold at most {limits.MAX_KEYWORD_QUERY_WORDS} words."
        )
    return ItemQuery(low, high, product, words)


# --- who may read -----------------------------------------------------------------------------


def _checked(request: Request, app: AppContext) -> Caller:
    caller = authenticated(request, b"", app)
    if caller.credential.role == VENDOR:
        raise CatalogClientNotEntitled()
    return caller


def _entitled(caller: Caller, program_id: int) -> None:
    c = caller.credential
    if c.role != PLATFORM and program_id not in c.programs:
        raise CatalogClientNotEntitled()


async def _caller(request: Request, app: AppContext) -> Caller:
    if app.checks_may_wait:
        return await run_in_threadpool(_checked, request, app)
    return _checked(request, app)


# --- answers ----------------------------------------------------------------------------------


def _etag(head: Head | None) -> str:
    return f'"{head.digest[:32]}"' if head is not None else '"none"'


def _not_modified(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match")
    if given is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in given.split(",")}
    return etag in tags or "*" in tags


def _cacheable(body: bytes, etag: str) -> Response:
    return json_response(body, headers={"ETag": etag, "Cache-Control": CACHE_CONTROL})


async def _answer(
    request: Request,
    app: AppContext,
    caller: Caller,
    program_id: int,
    language: str | None,
    key: Hashable,
    read: Callable[[], usecases.Answer],
) -> Response:
    """The answer for the program's current version: 304 when the caller has it, else kept
    or read. The nonce is spent and the version read (access/read_nonces.py) before anything
    is answered."""
    _entitled(caller, program_id)
    head = await usecases.check_in(app.read_nonces, program_id, caller.nonce)
    if head is not None:
        usecases.language_of(head, language)  # a 400 before any 304
    etag = _etag(head)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    cache = answers(request)
    full_key = (id(app.store), program_id, head.version if head else 0, key)
    body = cache.get(full_key)
    if body is None:
        answer = await anyio.to_thread.run_sync(read, limiter=_readers(request))
        body = answer.body
        if answer.version == (head.version if head else 0):
            cache.put(full_key, body)
        # else an import committed between the two reads: answered, not kept
    return _cacheable(body, etag)


async def get_catalogs(request: Request) -> Response:
    """getCatalogs: every level of the program's hierarchy, parents first."""
    app = ctx(request)
    caller = await _caller(request, app)
    program_id = _program_id(request)
    language = _language(request)
    product = _short_text(request, "product_code", limits.MAX_PRODUCT_CODE_LENGTH)
    store, kept = app.store, shapes(request)
    return await _answer(
        request,
        app,
        caller,
        program_id,
        language,
        ("catalogs", language, product),
        lambda: usecases.read_levels(store, program_id, language, product, kept),
    )


async def get_items(request: Request) -> Response:
    """getItems: the reward items of a catalog that pass the filters."""
    app = ctx(request)
    caller = await _caller(request, app)
    program_id = _program_id(request)
    catalog_id = _integer(request.path_params["catalog_id"], "catalog_id")
    assert catalog_id is not None
    language = _language(request)
    query = _item_query(request)
    store, kept = app.store, shapes(request)
    return await _answer(
        request,
        app,
        caller,
        program_id,
        language,
        ("items", catalog_id, language, query),
        lambda: usecases.read_items(store, program_id, catalog_id, language, query, kept),
    )


# --- the platform: PUT and GET {base}/programs/{program_id}/catalog ----------------------------


def _path_program(request: Request) -> int:
    program_id = _integer(request.path_params["program_id"], "program_id")
    assert program_id is not None
    return program_id


async def put_catalog(request: Request) -> Response:
    app = ctx(request)
    body = await read_body(request, limits.MAX_CATALOG_DOCUMENT_BYTES)
    return await run_in_threadpool(_put_catalog, request, body, app)


def _put_catalog(request: Request, body: bytes, app: AppContext) -> Response:
    caller = authenticated(request, body, app)
    require_platform(caller)
    program_id = _path_program(request)
    require_json(request)
    parsed, faults = document.parse(decode(body))
    if parsed is not None and parsed.program_id != program_id:
        parsed, faults = None, [document.program_mismatch(program_id)]
    if parsed is None:
        raise ValidationFailed(faults)
    done = usecases.import_catalog(app.store, parsed, clock.now(), nonce=caller.nonce)
    return json_response(
        views.import_result(done.program_id, done.version, done.catalogs, done.items)
    )


async def get_catalog(request: Request) -> Response:
    app = ctx(request)
    caller = await _caller(request, app)
    require_platform(caller)
    program_id = _path_program(request)
    await usecases.check_in(app.read_nonces, program_id, caller.nonce)
    body = await run_in_threadpool(usecases.export_catalog, app.store, program_id)
    if body is None:
        raise CatalogNotFound()
    return json_response(body)
