"""The catalog through HTTP with real signatures: getCatalogs and getItems as Mastercard
specifies them, their filters, languages, entitlement and errors; imports and exports."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from conftest import Client, LiveServer, errors_of
from tfs.access import usecases as access
from tfs.catalog import document, usecases
from tfs.db.store import Store

PROGRAM = 49631
URL = "https://img.example.com/"


def _item(item_id: int, catalogs: list[int], short: str, points: float, **extra: Any) -> Any:
    return {
        "id": item_id,
        "catalogIds": catalogs,
        "pointValue": points,
        "imageURL": f"{URL}{item_id}.jpg",
        "shortDescription": {"en_US": short},
        **extra,
    }


def catalog_document(program_id: int = PROGRAM) -> dict[str, Any]:
    """Three levels, two languages; items on leaves, one on two leaves, product-coded ones."""
    return {
        "programId": program_id,
        "languages": ["en_US", "fr_CA"],
        "catalogs": [
            {
                "id": 7991,
                "parentCatalogId": None,
                "imageURL": URL + "root.jpg",
                "name": {"en_US": "Rewards", "fr_CA": "Récompenses"},
            },
            {
                "id": 8040,
                "parentCatalogId": 8032,
                "imageURL": URL + "dining.jpg",
                "name": {"en_US": "Dining"},
            },
            {
                "id": 8032,
                "parentCatalogId": 7991,
                "imageURL": URL + "gift.jpg",
                "name": {"en_US": "Gift Cards", "fr_CA": "Cartes-cadeaux"},
            },
            {
                "id": 8041,
                "parentCatalogId": 8032,
                "imageURL": URL + "retail.jpg",
                "name": {"en_US": "Retail"},
            },
            {
                "id": 8100,
                "parentCatalogId": 7991,
                "imageURL": URL + "travel.jpg",
                "name": {"en_US": "Travel"},
            },
        ],
        "rewardItems": [
            _item(
                74568,
                [8040],
                "$25 Olive Garden",
                25.23,
                longDescription={"en_US": "$25 Olive Garden Gift Card"},
                orderInformation={
                    "en_US": "Please allow 7-10 days for gift cards to arrive",
                    "fr_CA": "Prévoir 7 à 10 jours",
                },
                shippingAddressRequired=True,
                isRecurringType=True,
                isRedeemable=True,
                physicalAddressRequired=True,
                personalizationInformation={
                    "isRequired": False,
                    "length": 2000,
                    "label": {"en_US": "Message", "fr_CA": "Message personnel"},
                },
                redemptionFees=[
                    {
                        "description": {"en_US": "Point purchase"},
                        "amount": 50,
                        "quantityLevel": True,
                    }
                ],
                productCodes=["FIDOCASHBACK"],
                keywords=["dining", "restaurant"],
            ),
            _item(
                74569,
                [8040],
                "Café gift card",
                10,
                longDescription={"en_US": "Coffee at any café in town"},
                isRedeemable=True,
            ),
            _item(74570, [8040, 8041], "Cafeteria voucher", 5, isRedeemable=True),
            _item(74571, [8041], "Retail gift card", 100, productCodes=["OTHER"]),
            _item(
                74572,
                [8100],
                "Flight voucher",
                5000,
                shortDescription={"en_US": "Flight voucher", "fr_CA": "Bon de vol"},
                emailAddressRequired=True,
                isSingleQuantityType=True,
                isRedeemable=True,
            ),
        ],
    }


@pytest.fixture
def imported(platform: Client) -> dict[str, Any]:
    doc = catalog_document()
    response = platform.request("PUT", f"/programs/{PROGRAM}/catalog", body=doc)
    assert response.status_code == 200, response.text
    return doc


@pytest.fixture
def customer(make_customer: Callable[..., Client], imported: Any) -> Client:
    return make_customer(PROGRAM)


def catalogs(client: Client, **params: Any) -> Any:
    response = client.request("GET", "/catalogs", params={"program_id": PROGRAM, **params})
    assert response.status_code == 200, response.text
    return response.json()["catalogs"]


def items(client: Client, catalog_id: int, **params: Any) -> list[Any]:
    response = client.request(
        "GET", f"/catalogs/{catalog_id}/items", params={"program_id": PROGRAM, **params}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["rewardItems"])


def ids(answer: list[Any]) -> list[int]:
    return [x["id"] for x in answer]


def _texts_in_french_too(node: Any, only: bool = False) -> None:
    """Give every localised text a fr_CA text (and, with `only`, nothing else)."""
    if isinstance(node, dict):
        if "en_US" in node and set(node) <= {"en_US", "fr_CA"}:
            node.setdefault("fr_CA", "FR " + node["en_US"])
            if only:
                del node["en_US"]
            return
        for value in node.values():
            _texts_in_french_too(value, only)
    elif isinstance(node, list):
        for value in node:
            _texts_in_french_too(value, only)


# --- getCatalogs ------------------------------------------------------------------------------


def test_every_level_parents_first_with_mastercards_fields(customer: Client) -> None:
    answer = catalogs(customer)
    assert ids(answer) == [7991, 8032, 8040, 8041, 8100]
    assert answer[0] == {
        "id": 7991,
        "name": "Rewards",
        "imageURL": URL + "root.jpg",
        "parentCatalogId": None,
        "hasRewardItems": False,
    }
    assert answer[2] == {
        "id": 8040,
        "name": "Dining",
        "imageURL": URL + "dining.jpg",
        "parentCatalogId": 8032,
        "hasRewardItems": True,
    }
    assert [c["hasRewardItems"] for c in answer] == [False, False, True, True, True]


def test_names_in_the_requested_language_falling_back_to_the_default(customer: Client) -> None:
    names = {c["id"]: c["name"] for c in catalogs(customer, language="fr_CA")}
    assert names[7991] == "Récompenses"
    assert names[8032] == "Cartes-cadeaux"
    assert names[8040] == "Dining"  # no fr_CA name: the default language's


def test_without_a_language_en_us_else_the_programs_default(
    platform: Client, make_customer: Callable[..., Client]
) -> None:
    doc = catalog_document(50001)
    doc["languages"] = ["fr_CA", "en_US"]
    _texts_in_french_too(doc)
    assert platform.request("PUT", "/programs/50001/catalog", body=doc).status_code == 200
    client = make_customer(50001)
    got = client.request("GET", "/catalogs", params={"program_id": 50001}).json()
    assert got["catalogs"][0]["name"] == "Rewards"  # en_US is configured: en_US
    doc = catalog_document(50002)
    doc["languages"] = ["fr_CA"]
    _texts_in_french_too(doc, only=True)
    assert platform.request("PUT", "/programs/50002/catalog", body=doc).status_code == 200
    got = make_customer(50002).request("GET", "/catalogs", params={"program_id": 50002}).json()
    assert got["catalogs"][0]["name"] == "Récompenses"


def test_product_code_keeps_the_levels_that_hold_an_available_item(customer: Client) -> None:
    # FIDOCASHBACK: 74568 (dining) plus the unrestricted items everywhere.
    assert ids(catalogs(customer, product_code="FIDOCASHBACK")) == [7991, 8032, 8040, 8041, 8100]
    doc = catalog_document()
    for it in doc["rewardItems"]:
        if it["id"] != 74571:
            it["productCodes"] = ["ONLY"]
    # 74571 (retail, OTHER) is the only item left for OTHER.
    assert document.parse(doc)[1] == []


def test_product_code_drops_levels_without_available_items(
    platform: Client, make_customer: Callable[..., Client]
) -> None:
    doc = catalog_document(50003)
    for it in doc["rewardItems"]:
        it["productCodes"] = ["GOLD"] if it["id"] == 74571 else ["SILVER"]
    assert platform.request("PUT", "/programs/50003/catalog", body=doc).status_code == 200
    client = make_customer(50003)

    def levels(code: str) -> list[int]:
        response = client.request(
            "GET", "/catalogs", params={"program_id": 50003, "product_code": code}
        )
        return ids(response.json()["catalogs"])

    assert levels("GOLD") == [7991, 8032, 8041]
    assert levels("SILVER") == [7991, 8032, 8040, 8041, 8100]
    assert levels("NONE") == []


# --- getItems ---------------------------------------------------------------------------------


def test_a_leafs_items_with_every_field_of_the_spec(customer: Client) -> None:
    answer = items(customer, 8040)
    assert ids(answer) == [74568, 74569, 74570]
    assert answer[0] == {
        "id": 74568,
        "shortDescription": "$25 Olive Garden",
        "longDescription": "$25 Olive Garden Gift Card",
        "imageURL": URL + "74568.jpg",
        "pointValue": 25.23,
        "shippingAddressRequired": True,
        "isRecurringType": True,
        "isRedeemable": True,
        "physicalAddressRequired": True,
        "isSingleQuantityType": False,
        "emailAddressRequired": False,
        "orderInformation": "Please allow 7-10 days for gift cards to arrive",
        "personalizationInformation": {"isRequired": False, "length": 2000, "label": "Message"},
        "redemptionFees": [{"description": "Point purchase", "amount": 50, "quantityLevel": True}],
    }
    # Optional texts given in no language are empty strings; no personalisation is not required.
    assert answer[2]["longDescription"] == "" and answer[2]["orderInformation"] == ""
    assert answer[2]["personalizationInformation"] == {
        "isRequired": False,
        "length": 0,
        "label": "",
    }


def test_items_in_another_language_fall_back_per_text(customer: Client) -> None:
    first = items(customer, 8040, language="fr_CA")[0]
    assert first["orderInformation"] == "Prévoir 7 à 10 jours"
    assert first["shortDescription"] == "$25 Olive Garden"  # no fr_CA: the default's
    assert first["personalizationInformation"]["label"] == "Message personnel"
    assert items(customer, 8100, language="fr_CA")[0]["shortDescription"] == "Bon de vol"


def test_a_level_above_the_leaves_lists_every_leafs_items_once(customer: Client) -> None:
    assert ids(items(customer, 8032)) == [74568, 74569, 74570, 74571]
    assert ids(items(customer, 7991)) == [74568, 74569, 74570, 74571, 74572]
    assert ids(items(customer, 8041)) == [74570, 74571]


def test_unredeemable_items_are_listed(customer: Client) -> None:
    retail = {i["id"]: i for i in items(customer, 8041)}
    assert retail[74571]["isRedeemable"] is False


def test_point_bounds_are_inclusive(customer: Client) -> None:
    assert ids(items(customer, 7991, min_points=10, max_points=100)) == [74568, 74569, 74571]
    assert ids(items(customer, 7991, min_points=5000)) == [74572]
    assert ids(items(customer, 7991, max_points=5)) == [74570]
    assert ids(items(customer, 7991, min_points=26, max_points=99)) == []


def test_product_code_keeps_items_available_to_it(customer: Client) -> None:
    assert ids(items(customer, 7991, product_code="FIDOCASHBACK")) == [
        74568,
        74569,
        74570,
        74572,
    ]
    assert ids(items(customer, 7991, product_code="OTHER")) == [74569, 74570, 74571, 74572]


@pytest.mark.parametrize(
    ("keyword", "found"),
    [
        ("cafe", [74569]),  # "Café", folded; not "Cafeteria" (whole words only)
        ("CAFÉ", [74569]),
        ("cafeteria", [74570]),
        ("caf", []),  # no prefix matches
        ("gift card", [74568, 74569, 74571]),  # every word required, anywhere
        ("gift voucher", []),
        ("restaurant", [74568]),  # the item's keywords
        ("coffee", [74569]),  # the long description
        ("olive garden", [74568]),
        ("vol", [74572]),  # any language's texts
        ("!!!", [74568, 74569, 74570, 74571, 74572]),  # no word: no filter
    ],
)
def test_keyword(customer: Client, keyword: str, found: list[int]) -> None:
    assert ids(items(customer, 7991, keyword=keyword)) == found


def test_filters_combine(customer: Client) -> None:
    got = items(customer, 8032, keyword="gift card", min_points=20, product_code="FIDOCASHBACK")
    assert ids(got) == [74568]


# --- errors -----------------------------------------------------------------------------------


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    (item,) = errors_of(response)
    assert item["ReasonCode"] == code, item
    assert item["Source"] == "mrs-catalog-api", item
    return item


def test_program_id_is_required(customer: Client) -> None:
    for path in ("/catalogs", "/catalogs/8040/items"):
        item = _error(customer.request("GET", path), 400, "MISSING_REQUIRED_FIELD")
        assert item["Description"] == "program_id parameter cannot be null."
        assert item["Recoverable"] is False


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/catalogs", {"program_id": "abc"}, "program_id"),
        ("/catalogs", {"program_id": "1.5"}, "program_id"),
        ("/catalogs/8040/items", {"program_id": PROGRAM, "min_points": "x"}, "min_points"),
        ("/catalogs/8040/items", {"program_id": PROGRAM, "max_points": "1e3"}, "max_points"),
        (
            "/catalogs/8040/items",
            {"program_id": PROGRAM, "min_points": 10, "max_points": 9},
            "min_points",
        ),
        ("/catalogs/abc/items", {"program_id": PROGRAM}, "catalog_id"),
        ("/catalogs", {"program_id": PROGRAM, "language": "de_DE"}, "language"),
        ("/catalogs/8040/items", {"program_id": PROGRAM, "language": "de_DE"}, "language"),
    ],
)
def test_invalid_parameters_name_the_parameter(
    customer: Client, path: str, params: dict[str, Any], named: str
) -> None:
    item = _error(customer.request("GET", path, params=params), 400, "INVALID_FIELD_VALUE")
    assert named in item["Description"]


def test_an_unknown_catalog_is_invalid_input(customer: Client) -> None:
    item = _error(
        customer.request("GET", "/catalogs/123/items", params={"program_id": PROGRAM}),
        400,
        "INVALID_INPUT",
    )
    assert item["Description"] == "Invalid Reward Catalog HierarchyId."


def test_a_program_without_a_catalog_answers_empty_lists(
    make_customer: Callable[..., Client],
) -> None:
    client = make_customer(777)
    got = client.request("GET", "/catalogs", params={"program_id": 777})
    assert got.status_code == 200 and got.json() == {"catalogs": []}
    got = client.request("GET", "/catalogs/1/items", params={"program_id": 777})
    assert got.status_code == 200 and got.json() == {"rewardItems": []}


def test_who_may_read(
    customer: Client, make_customer: Callable[..., Client], vendor: Client, platform: Client
) -> None:
    other = make_customer(1, 2)
    for client in (other, vendor):
        for path in ("/catalogs", "/catalogs/8040/items"):
            item = _error(
                client.request("GET", path, params={"program_id": PROGRAM}),
                401,
                "INVALID_CLIENT_ID",
            )
            assert item["Description"] == "ClientId doesn't have access to the requested service."
    assert ids(catalogs(platform))[0] == 7991
    assert ids(catalogs(make_customer(5, PROGRAM)))[0] == 7991
    # Customers cannot import.
    response = customer.request("PUT", f"/programs/{PROGRAM}/catalog", body=catalog_document())
    assert response.status_code == 401


def test_an_unsigned_read_is_refused_by_the_gateway(customer: Client) -> None:
    response = customer.request("GET", "/catalogs", params={"program_id": PROGRAM}, sign=False)
    assert response.status_code in (400, 401)
    assert errors_of(response)[0]["Source"] == "Gateway"


# --- nonces: every read spends its own ------------------------------------------------------


def _signed_read(client: Client) -> requests.PreparedRequest:
    """One signed getCatalogs request, to be sent more than once."""
    return client.prepared("GET", "/catalogs", params={"program_id": PROGRAM})


def test_a_replayed_read_is_refused(customer: Client) -> None:
    once = _signed_read(customer)
    assert customer.session.send(once, timeout=30).status_code == 200
    replay = customer.session.send(once, timeout=30)
    assert replay.status_code == 401
    assert errors_of(replay)[0]["Description"] == "OAuth nonce has already been used."


def test_reads_at_the_same_moment_each_spend_their_own_nonce(customer: Client) -> None:
    """Of twelve distinct reads sent at once, each is answered, and each is refused when sent
    again; of one read sent eight times at once, one is answered."""
    distinct = [_signed_read(customer) for _ in range(12)]
    same = _signed_read(customer)

    def send_all(batch: list[requests.PreparedRequest]) -> list[requests.Response]:
        with ThreadPoolExecutor(len(batch)) as pool:
            # A session per thread: requests' Session is not safe to share across threads.
            return list(pool.map(lambda r: requests.Session().send(r, timeout=30), batch))

    codes = [a.status_code for a in send_all([*distinct, *[same] * 8])]
    assert codes[:12] == [200] * 12
    assert sorted(codes[12:]) == [200] + [401] * 7
    again = send_all(distinct)
    assert [a.status_code for a in again] == [401] * 12
    assert {errors_of(a)[0]["Description"] for a in again} == {"OAuth nonce has already been used."}


def test_a_revoked_customer_is_refused_on_its_next_read(customer: Client, store: Store) -> None:
    assert customer.request("GET", "/catalogs", params={"program_id": PROGRAM}).status_code == 200
    assert access.revoke_credential(store, customer.consumer_key)
    response = customer.request("GET", "/catalogs", params={"program_id": PROGRAM})
    assert response.status_code == 401
    assert errors_of(response)[0]["Description"] == "The consumer key has been revoked."


# --- caching ----------------------------------------------------------------------------------


def test_etag_and_not_modified(customer: Client, platform: Client) -> None:
    params = {"program_id": PROGRAM}
    first = customer.request("GET", "/catalogs/8040/items", params=params)
    assert first.headers["Cache-Control"] == "private, max-age=60"
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = customer.request(
        "GET", "/catalogs/8040/items", params=params, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    other = customer.request(
        "GET", "/catalogs/8040/items", params=params, headers={"If-None-Match": '"nope"'}
    )
    assert other.status_code == 200 and other.json() == first.json()
    # A new import: a new ETag, and the old one no longer matches.
    doc = catalog_document()
    doc["rewardItems"][0]["pointValue"] = 26
    assert platform.request("PUT", f"/programs/{PROGRAM}/catalog", body=doc).status_code == 200
    after = customer.request(
        "GET", "/catalogs/8040/items", params=params, headers={"If-None-Match": etag}
    )
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert after.json()["rewardItems"][0]["pointValue"] == 26


# --- importing and exporting ------------------------------------------------------------------


def test_put_answers_version_and_counts_and_export_round_trips(
    platform: Client, imported: Any
) -> None:
    path = f"/programs/{PROGRAM}/catalog"
    exported = platform.request("GET", path)
    assert exported.status_code == 200
    again = platform.request("PUT", path, raw=exported.content)
    assert again.status_code == 200
    body = again.json()
    assert set(body) == {"programId", "version", "catalogs", "rewardItems"}
    assert (body["programId"], body["catalogs"], body["rewardItems"]) == (PROGRAM, 5, 5)
    # The export is normalised (levels parents first, defaults filled in); importing it is
    # a no-op: the same version.
    assert platform.request("PUT", path, raw=exported.content).json()["version"] == body["version"]
    assert platform.request("GET", path).content == exported.content
    assert [c["id"] for c in exported.json()["catalogs"]] == [7991, 8032, 8040, 8041, 8100]
    changed = catalog_document()
    changed["catalogs"][0]["name"]["en_US"] = "All rewards"
    bumped = platform.request("PUT", path, body=changed).json()["version"]
    assert bumped == body["version"] + 1


def test_export_of_a_program_without_a_catalog_is_404(platform: Client) -> None:
    response = platform.request("GET", "/programs/999999/catalog")
    assert response.status_code == 404
    assert errors_of(response)[0]["ReasonCode"] == "CATALOG_NOT_FOUND"


def _faults(platform: Client, doc: Any) -> dict[str, str]:
    response = platform.request("PUT", f"/programs/{PROGRAM}/catalog", body=doc)
    assert response.status_code == 400, response.text
    return {e["Details"]: e["Description"] for e in errors_of(response)}


def test_a_refused_document_reports_every_fault_with_its_path_and_changes_nothing(
    platform: Client, customer: Client
) -> None:
    before = items(customer, 7991)
    doc = catalog_document()
    doc["catalogs"][0]["name"]["en_US"] = "x" * 41
    doc["catalogs"][1]["name"] = {"fr_CA": "Sans défaut"}
    doc["catalogs"][2]["imageURL"] = "ftp://img.example.com/a.jpg"
    doc["catalogs"].append(
        {"id": 9000, "parentCatalogId": 9999, "imageURL": URL, "name": {"en_US": "Orphan"}}
    )
    doc["catalogs"] += [
        {"id": 9100, "parentCatalogId": 9101, "imageURL": URL, "name": {"en_US": "A"}},
        {"id": 9101, "parentCatalogId": 9100, "imageURL": URL, "name": {"en_US": "B"}},
    ]
    doc["rewardItems"][0]["shortDescription"]["en_US"] = "y" * 151
    doc["rewardItems"][1]["catalogIds"] = [8032]  # not a leaf
    doc["rewardItems"][2]["shortDescription"]["de_DE"] = "Gutschein"
    doc["rewardItems"][3]["id"] = 74568  # repeated
    doc["rewardItems"][4]["redemptionFees"] = [
        {"description": {"en_US": "z" * 51}, "amount": 1, "quantityLevel": False}
    ]
    doc["rewardItems"][0]["personalizationInformation"]["label"]["en_US"] = "l" * 4001
    doc["rewardItems"].append({"id": 80000, "catalogIds": [8040]})
    faults = _faults(platform, doc)
    expected = [
        "catalogs[0].name.en_US",
        "catalogs[1].name",
        "catalogs[2].imageURL",
        "catalogs[5].parentCatalogId",
        "catalogs[6].parentCatalogId",
        "rewardItems[0].shortDescription.en_US",
        "rewardItems[0].personalizationInformation.label.en_US",
        "rewardItems[1].catalogIds[0]",
        "rewardItems[2].shortDescription.de_DE",
        "rewardItems[3].id",
        "rewardItems[4].redemptionFees[0].description.en_US",
        "rewardItems[5].pointValue",
        "rewardItems[5].imageURL",
        "rewardItems[5].shortDescription",
    ]
    for path in expected:
        assert path in faults, (path, faults)
    assert "cycle" in faults["catalogs[6].parentCatalogId"] or "cycle" in faults.get(
        "catalogs[7].parentCatalogId", ""
    )
    assert items(customer, 7991) == before


def test_unknown_fields_and_a_mismatched_program_are_refused(platform: Client) -> None:
    doc = catalog_document()
    doc["rewardItems"][0]["price"] = 3
    assert "rewardItems[0].price" in _faults(platform, doc)
    assert "programId" in _faults(platform, catalog_document(PROGRAM + 1))
    assert "languages" in _faults(platform, {**catalog_document(), "languages": []})


def test_placing_an_order_checks_reward_items_against_the_programs_catalog(
    platform: Client, vendor: Client, imported: Any
) -> None:
    def place(reward_item_id: str) -> Any:
        return platform.request(
            "POST",
            "/orders",
            body={
                "mcOrderId": f"cat-{reward_item_id}-{id(object())}",
                "vendorId": vendor.vendor_id,
                "programId": str(PROGRAM),
                "items": [{"mcId": "1", "rewardItemId": reward_item_id, "quantity": 1}],
            },
        )

    assert place("74568").status_code == 201
    refused = place("123456")
    assert refused.status_code == 400
    (fault,) = errors_of(refused)
    assert fault["ReasonCode"].startswith("INVALID_FIELD_VALUE")
    assert "ITEMS[0]" in fault["ReasonCode"] or "items[0]" in fault["Description"]


# --- consistency ------------------------------------------------------------------------------


def test_every_process_serves_a_new_import_at_once(
    platform: Client,
    customer: Client,
    start_server: Callable[..., LiveServer],
) -> None:
    other = start_server()
    reader = Client(other.url, customer.consumer_key, customer.key)
    assert items(reader, 8040)[0]["pointValue"] == 25.23  # kept by the other process
    doc = catalog_document()
    doc["rewardItems"][0]["pointValue"] = 30
    assert platform.request("PUT", f"/programs/{PROGRAM}/catalog", body=doc).status_code == 200
    assert items(reader, 8040)[0]["pointValue"] == 30


def test_readers_see_one_import_or_the_next_never_a_mix(
    platform: Client, customer: Client, store: Store
) -> None:
    a = catalog_document()
    b = copy.deepcopy(a)
    for it in b["rewardItems"]:
        it["pointValue"] = 1
        it["catalogIds"] = [8100] if it["id"] % 2 else [8040]
    answers_a = items(customer, 7991)
    parsed_b, _ = document.parse(b)
    assert parsed_b is not None
    seen: set[str] = set()
    stop = threading.Event()
    failures: list[Any] = []

    def read() -> None:
        while not stop.is_set():
            got = items(customer, 7991)
            key = "a" if got == answers_a else "b" if all(i["pointValue"] == 1 for i in got) else ""
            if not key or (key == "b" and len(got) != 5):
                failures.append(got)
            seen.add(key)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        parsed_a, _ = document.parse(a)
        assert parsed_a is not None
        for n in range(6):
            usecases.import_catalog(store, parsed_b if n % 2 == 0 else parsed_a, _now())
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert failures == []
    assert "a" in seen


def _now() -> Any:
    from conftest import now

    return now()
