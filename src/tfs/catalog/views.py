"""What the catalog answers look like: Mastercard's Catalog and RewardItem, in one language.

Views are rendered once per configured language when a catalog is imported, and stored; a
read joins stored views and renders nothing. A text missing in the requested language falls
back to the program's default language; an optional text given in no language is "".
"""

from __future__ import annotations

from typing import Any

import msgspec

from tfs.catalog.document import FLAGS, Item, Level, ProgramCatalog

_encode = msgspec.json.Encoder().encode


def _text(localized: dict[str, str] | None, language: str, default: str) -> str:
    if not localized:
        return ""
    return localized.get(language) or localized[default]


def level(lv: Level, language: str, default: str) -> dict[str, Any]:
    doc = lv.document
    return {
        "id": lv.id,
        "name": _text(doc["name"], language, default),
        "imageURL": doc["imageURL"],
        "parentCatalogId": lv.parent_id,
        "hasRewardItems": lv.is_leaf,
    }


def item(it: Item, language: str, default: str) -> bytes:
    doc = it.document
    personalization = doc.get("personalizationInformation") or {}
    view = {
        "id": it.id,
        "shortDescription": _text(doc["shortDescription"], language, default),
        "longDescription": _text(doc.get("longDescription"), language, default),
        "imageURL": doc["imageURL"],
        "pointValue": doc["pointValue"],
        **{flag: doc[flag] for flag in FLAGS},
        "orderInformation": _text(doc.get("orderInformation"), language, default),
        "personalizationInformation": {
            "isRequired": personalization.get("isRequired", False),
            "length": personalization.get("length", 0),
            "label": _text(personalization.get("label"), language, default),
        },
        "redemptionFees": [
            {
                "description": _text(fee["description"], language, default),
                "amount": fee["amount"],
                "quantityLevel": fee["quantityLevel"],
            }
            for fee in doc["redemptionFees"]
        ],
    }
    return _encode(view)


def level_views(catalog: ProgramCatalog, lv: Level) -> bytes:
    """A level's view in every language of the program, as one JSON object by language."""
    d = catalog.default_language
    return _encode({lang: level(lv, lang, d) for lang in catalog.languages})


def item_views(catalog: ProgramCatalog, it: Item) -> list[tuple[str, bytes]]:
    d = catalog.default_language
    return [(lang, item(it, lang, d)) for lang in catalog.languages]


def catalogs_answer(levels: list[bytes]) -> bytes:
    return b'{"catalogs":[' + b",".join(levels) + b"]}"


def items_answer(items: list[bytes]) -> bytes:
    return b'{"rewardItems":[' + b",".join(items) + b"]}"


def import_result(program_id: int, version: int, catalogs: int, items: int) -> bytes:
    return _encode(
        {"programId": program_id, "version": version, "catalogs": catalogs, "rewardItems": items}
    )
