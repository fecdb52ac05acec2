"""The catalog import document: every rule it must keep, checked at once with each fault's path.

One JSON document holds one program's whole catalog (docs/catalog.md): its languages (the first
is the default), its hierarchy levels and its reward items. `parse` checks all of it and gives a
`ProgramCatalog` whose `document` is the normalised form (defaults filled in, levels parents
first): what export prints and what the digest is taken of, so export → import changes nothing.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import msgspec

from tfs import limits
from tfs.errors import CATALOG, ErrorItem
from tfs.fields import printable

MAX_INT64 = 2**63 - 1
MAX_AMOUNT = 1e15
LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
FLAGS = (
    "shippingAddressRequired",
    "isRecurringType",
    "isRedeemable",
    "physicalAddressRequired",
    "isSingleQuantityType",
    "emailAddressRequired",
)
_TOP_KEYS = frozenset({"programId", "languages", "catalogs", "rewardItems"})
_LEVEL_KEYS = frozenset({"id", "parentCatalogId", "imageURL", "name"})
_ITEM_KEYS = frozenset(
    {
        "id",
        "catalogIds",
        "pointValue",
        "imageURL",
        "shortDescription",
        "longDescription",
        "orderInformation",
        "personalizationInformation",
        "redemptionFees",
        "productCodes",
        "keywords",
        *FLAGS,
    }
)
_PERSONALIZATION_KEYS = frozenset({"isRequired", "length", "label"})
_FEE_KEYS = frozenset({"description", "amount", "quantityLevel"})

Localized = dict[str, str]


@dataclass(frozen=True)
class Level:
    """One level of the hierarchy; `position` is its place parents first."""

    id: int
    parent_id: int | None
    position: int
    is_leaf: bool
    document: dict[str, Any]


@dataclass(frozen=True)
class Item:
    id: int
    position: int
    catalog_ids: tuple[int, ...]
    point_value: float
    product_codes: tuple[str, ...]
    document: dict[str, Any]


@dataclass(frozen=True)
class ProgramCatalog:
    program_id: int
    languages: tuple[str, ...]
    levels: list[Level]
    items: list[Item]
    document: dict[str, Any]

    @property
    def default_language(self) -> str:
        return self.languages[0]

    @property
    def digest(self) -> str:
        return hashlib.sha256(msgspec.json.encode(self.document)).hexdigest()


class _Faults:
    """The faults found, each with its path; at most MAX_REPORTED_FAULTS are kept."""

    def __init__(self) -> None:
        self.items: list[ErrorItem] = []
        self.count = 0

    def add(self, path: str, why: str, code: str = "INVALID_FIELD_VALUE") -> None:
        self.count += 1
        if len(self.items) < limits.MAX_REPORTED_FAULTS:
            self.items.append(ErrorItem(CATALOG, code, f"{path}: {why}", details=path))

    def missing(self, path: str) -> None:
        self.add(path, "is required.", "MISSING_REQUIRED_FIELD")

    def report(self) -> list[ErrorItem]:
        if self.count > len(self.items):
            last = self.items[-1]
            more = self.count - len(self.items) + 1
            self.items[-1] = ErrorItem(
                CATALOG,
                last.reason_code,
                f"{last.description} ({more - 1} more faults not shown)",
                details=last.details,
            )
        return self.items


def _unknown_keys(obj: dict[str, Any], known: frozenset[str], path: str, f: _Faults) -> None:
    for key in obj:
        if key not in known:
            f.add(f"{path}.{key}" if path else key, "is not a field of the catalog document.")


def _text_ok(value: str) -> bool:
    """Free text: printable, but for line breaks and tabs."""
    return printable(value.replace("\n", "").replace("\t", ""))


def _id(value: Any, path: str, f: _Faults) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_INT64:
        f.add(path, f"must be an integer from 1 to {MAX_INT64}.")
        return None
    return value


def _number(value: Any, path: str, f: _Faults) -> float | int | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value <= MAX_AMOUNT:
        f.add(path, f"must be a number from 0 to {MAX_AMOUNT:.0e}.")
        return None
    return value  # type: ignore[no-any-return]


T = TypeVar("T")


def _required(
    obj: dict[str, Any], key: str, path: str, f: _Faults, check: Callable[[Any, str, _Faults], T]
) -> T | None:
    where = f"{path}.{key}" if path else key
    if key not in obj:
        f.missing(where)
        return None
    return check(obj[key], where, f)


def _flag(obj: dict[str, Any], key: str, path: str, f: _Faults) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        f.add(f"{path}.{key}", "must be true or false.")
        return False
    return value


def _url(obj: dict[str, Any], key: str, path: str, f: _Faults) -> str | None:
    where = f"{path}.{key}"
    if key not in obj:
        f.missing(where)
        return None
    value = obj[key]
    max_len = limits.MAX_ITEM_TEXT_LENGTH
    if not isinstance(value, str) or len(value) > max_len or not printable(value):
        f.add(where, f"must be a URL of at most {max_len} characters.")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        f.add(where, "must be an http(s) URL.")
        return None
    return value


class _Program:
    """What checking a level or an item needs to know of the whole document."""

    def __init__(self, languages: tuple[str, ...], f: _Faults) -> None:
        self.languages = languages
        self.f = f

    def localized(
        self, obj: dict[str, Any], key: str, path: str, max_len: int, *, required: bool = False
    ) -> Localized | None:
        """A text in each of some configured languages, the default among them."""
        where = f"{path}.{key}" if path else key
        if key not in obj:
            if required:
                self.f.missing(where)
            return None
        value = obj[key]
        if not isinstance(value, dict) or not value:
            self.f.add(where, "must be an object of texts by language.")
            return None
        ok = True
        for language, text in value.items():
            if language not in self.languages:
                self.f.add(f"{where}.{language}", "is not a language of the program.")
                ok = False
            elif not isinstance(text, str) or not text.strip() or len(text) > max_len:
                self.f.add(f"{where}.{language}", f"must be a text of 1 to {max_len} characters.")
                ok = False
            elif not _text_ok(text):
                self.f.add(f"{where}.{language}", "must not contain control characters.")
                ok = False
        if self.languages[0] not in value:
            self.f.add(where, f"must hold the default language {self.languages[0]}.")
            ok = False
        if not ok:
            return None
        return {lang: value[lang] for lang in self.languages if lang in value}

    def strings(
        self, obj: dict[str, Any], key: str, path: str, max_count: int, max_len: int
    ) -> list[str]:
        """A list of short printable strings, repeats dropped."""
        where = f"{path}.{key}"
        value = obj.get(key, [])
        if not isinstance(value, list) or len(value) > max_count:
            self.f.add(where, f"must be a list of at most {max_count} strings.")
            return []
        out: dict[str, None] = {}
        for k, s in enumerate(value):
            if not isinstance(s, str) or not 1 <= len(s) <= max_len or not printable(s):
                self.f.add(f"{where}[{k}]", f"must be a printable string of 1 to {max_len}.")
            else:
                out.setdefault(s, None)
        return list(out)


def _languages(data: dict[str, Any], f: _Faults) -> tuple[str, ...]:
    value = data.get("languages")
    if value is None:
        f.missing("languages")
        return ()
    if not isinstance(value, list) or not value or len(value) > limits.MAX_PROGRAM_LANGUAGES:
        f.add("languages", f"must list 1 to {limits.MAX_PROGRAM_LANGUAGES} language codes.")
        return ()
    out: list[str] = []
    for k, lang in enumerate(value):
        if not isinstance(lang, str) or not LANGUAGE.fullmatch(lang):
            f.add(f"languages[{k}]", "must be a language code such as en_US.")
        elif lang in out:
            f.add(f"languages[{k}]", "is repeated.")
        else:
            out.append(lang)
    return tuple(out) if len(out) == len(value) else ()


def _list(data: dict[str, Any], key: str, max_count: int, f: _Faults) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        f.add(key, "must be a list.")
        return []
    if len(value) > max_count:
        f.add(key, f"must hold at most {max_count} entries.")
        return []
    return value


def _levels(raw: list[Any], program: _Program) -> list[Level]:
    f = program.f
    parsed: dict[int, tuple[int | None, dict[str, Any], str]] = {}  # id -> parent, doc, path
    order: list[int] = []
    for k, obj in enumerate(raw):
        path = f"catalogs[{k}]"
        if not isinstance(obj, dict):
            f.add(path, "must be an object.")
            continue
        _unknown_keys(obj, _LEVEL_KEYS, path, f)
        level_id = _required(obj, "id", path, f, _id)
        parent = obj.get("parentCatalogId")
        parent_id = None if parent is None else _id(parent, f"{path}.parentCatalogId", f)
        url = _url(obj, "imageURL", path, f)
        name = program.localized(obj, "name", path, limits.MAX_CATALOG_NAME_LENGTH, required=True)
        if level_id is None:
            continue
        if level_id in parsed:
            f.add(f"{path}.id", f"repeats catalog id {level_id}.")
            continue
        if url is None or name is None or (parent is not None and parent_id is None):
            continue
        doc = {"id": level_id, "parentCatalogId": parent_id, "imageURL": url, "name": name}
        parsed[level_id] = (parent_id, doc, path)
        order.append(level_id)
    children: dict[int | None, list[int]] = {}
    for level_id in order:
        parent_id, _, path = parsed[level_id]
        if parent_id is not None and parent_id not in parsed:
            f.add(f"{path}.parentCatalogId", f"names catalog {parent_id}, which is not there.")
            continue
        children.setdefault(parent_id, []).append(level_id)
    # Parents first, siblings in the document's order; what is not reached from the top is in
    # a cycle (or under one).
    levels: list[Level] = []

    def visit(level_id: int, depth: int) -> None:
        parent_id, doc, path = parsed[level_id]
        if depth > limits.MAX_CATALOG_DEPTH:
            f.add(path, f"is deeper than {limits.MAX_CATALOG_DEPTH} levels.")
            return
        below = children.get(level_id, [])
        levels.append(Level(level_id, parent_id, len(levels), not below, doc))
        for child in below:
            visit(child, depth + 1)

    for top in children.get(None, []):
        visit(top, 1)
    reached = {level.id for level in levels}
    for level_id in order:
        parent_id, _, path = parsed[level_id]
        if level_id not in reached and parent_id in parsed:
            f.add(f"{path}.parentCatalogId", "makes a cycle of parents.")
    return levels


def _personalization(obj: dict[str, Any], path: str, program: _Program) -> dict[str, Any] | None:
    f = program.f
    where = f"{path}.personalizationInformation"
    value = obj.get("personalizationInformation")
    if value is None:
        return None
    if not isinstance(value, dict):
        f.add(where, "must be an object.")
        return None
    _unknown_keys(value, _PERSONALIZATION_KEYS, where, f)
    length = value.get("length", 0)
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_INT64:
        f.add(f"{where}.length", "must be a whole number of characters.")
    out: dict[str, Any] = {"isRequired": _flag(value, "isRequired", where, f), "length": length}
    label = program.localized(value, "label", where, limits.MAX_LABEL_LENGTH)
    if label is not None:
        out["label"] = label
    return out


def _fees(obj: dict[str, Any], path: str, program: _Program) -> list[dict[str, Any]]:
    f = program.f
    where = f"{path}.redemptionFees"
    value = obj.get("redemptionFees", [])
    if not isinstance(value, list) or len(value) > limits.MAX_REDEMPTION_FEES:
        f.add(where, f"must be a list of at most {limits.MAX_REDEMPTION_FEES} fees.")
        return []
    fees = []
    for k, fee in enumerate(value):
        at = f"{where}[{k}]"
        if not isinstance(fee, dict):
            f.add(at, "must be an object.")
            continue
        _unknown_keys(fee, _FEE_KEYS, at, f)
        description = program.localized(
            fee, "description", at, limits.MAX_FEE_DESCRIPTION_LENGTH, required=True
        )
        amount = _required(fee, "amount", at, f, _number)
        level = _flag(fee, "quantityLevel", at, f)
        fees.append({"description": description, "amount": amount, "quantityLevel": level})
    return fees


def _items(raw: list[Any], leaves: set[int], all_levels: set[int], program: _Program) -> list[Item]:
    f = program.f
    items: list[Item] = []
    seen: set[int] = set()
    text = limits.MAX_ITEM_TEXT_LENGTH
    for k, obj in enumerate(raw):
        path = f"rewardItems[{k}]"
        if not isinstance(obj, dict):
            f.add(path, "must be an object.")
            continue
        before = f.count
        _unknown_keys(obj, _ITEM_KEYS, path, f)
        item_id = _required(obj, "id", path, f, _id)
        if item_id is not None and item_id in seen:
            f.add(f"{path}.id", f"repeats reward item id {item_id}.")
        seen.add(item_id or 0)
        catalog_ids = _item_catalogs(obj, path, leaves, all_levels, f)
        point_value = _required(obj, "pointValue", path, f, _number)
        doc: dict[str, Any] = {
            "id": item_id,
            "catalogIds": list(catalog_ids),
            "pointValue": point_value,
            "imageURL": _url(obj, "imageURL", path, f),
            "shortDescription": program.localized(
                obj, "shortDescription", path, text, required=True
            ),
        }
        for key in ("longDescription", "orderInformation"):
            value = program.localized(obj, key, path, text)
            if value is not None:
                doc[key] = value
        for flag in FLAGS:
            doc[flag] = _flag(obj, flag, path, f)
        personalization = _personalization(obj, path, program)
        if personalization is not None:
            doc["personalizationInformation"] = personalization
        doc["redemptionFees"] = _fees(obj, path, program)
        doc["productCodes"] = program.strings(
            obj,
            "productCodes",
            path,
            limits.MAX_ITEM_PRODUCT_CODES,
            limits.MAX_PRODUCT_CODE_LENGTH,
        )
        doc["keywords"] = program.strings(
            obj, "keywords", path, limits.MAX_ITEM_KEYWORDS, limits.MAX_KEYWORD_LENGTH
        )
        if f.count == before and item_id is not None and point_value is not None:
            items.append(
                Item(
                    item_id,
                    len(items),
                    catalog_ids,
                    float(point_value),
                    tuple(doc["productCodes"]),
                    doc,
                )
            )
    return items


def _item_catalogs(
    obj: dict[str, Any], path: str, leaves: set[int], all_levels: set[int], f: _Faults
) -> tuple[int, ...]:
    where = f"{path}.catalogIds"
    value = obj.get("catalogIds")
    if value is None:
        f.missing(where)
        return ()
    if not isinstance(value, list) or not 1 <= len(value) <= limits.MAX_ITEM_CATALOGS:
        f.add(where, f"must list 1 to {limits.MAX_ITEM_CATALOGS} catalog ids.")
        return ()
    out: dict[int, None] = {}
    for k, catalog_id in enumerate(value):
        at = f"{where}[{k}]"
        if _id(catalog_id, at, f) is None:
            continue
        if catalog_id not in all_levels:
            f.add(at, f"names catalog {catalog_id}, which is not there.")
        elif catalog_id not in leaves:
            f.add(at, f"names catalog {catalog_id}, which has levels below it: items go on leaves.")
        else:
            out.setdefault(catalog_id, None)
    return tuple(out)


def program_mismatch(program_id: int) -> ErrorItem:
    return ErrorItem(
        CATALOG,
        "INVALID_FIELD_VALUE",
        f"programId: must be {program_id}, the program of the URL.",
        details="programId",
    )


def parse(data: Any) -> tuple[ProgramCatalog | None, list[ErrorItem]]:
    """The program's catalog, or every fault of the document (each with its path)."""
    f = _Faults()
    if not isinstance(data, dict):
        f.add("$", "The catalog document must be a JSON object.")
        return None, f.report()
    _unknown_keys(data, _TOP_KEYS, "", f)
    program_id = _required(data, "programId", "", f, _id)
    languages = _languages(data, f)
    raw_levels = _list(data, "catalogs", limits.MAX_CATALOG_LEVELS, f)
    raw_items = _list(data, "rewardItems", limits.MAX_REWARD_ITEMS, f)
    if not languages:  # texts cannot be checked without the program's languages
        return None, f.report()
    program = _Program(languages, f)
    levels = _levels(raw_levels, program)
    leaves = {level.id for level in levels if level.is_leaf}
    items = _items(raw_items, leaves, {level.id for level in levels}, program)
    if f.count or program_id is None:
        return None, f.report()
    document = {
        "programId": program_id,
        "languages": list(languages),
        "catalogs": [level.document for level in levels],
        "rewardItems": [item.document for item in items],
    }
    return ProgramCatalog(program_id, languages, levels, items, document), []
