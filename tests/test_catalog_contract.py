"""The catalog against Mastercard's own contract: a client generated from Mastercard's spec
(tests/contract/mastercard-tfs-openapi.yml, vendored unchanged) with openapi-python-client,
pointed at the live service and signing with Mastercard's `oauth1` library, reads an imported
catalog; and every answer validates against Mastercard's spec itself, strictly (no property its
schemas do not name).

The spec is generated from as it is. For validation only, a copy in memory gets the two fixes
without which no true answer can validate (see `mastercard_validator`).
"""

from __future__ import annotations

import copy
import importlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from oauth1.oauth import OAuth
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_core.validation.response.exceptions import InvalidData

from conftest import BASE_PATH, Client, LiveServer
from test_openapi import _closed

SPEC_PATH = Path(__file__).parent / "contract" / "mastercard-tfs-openapi.yml"
PACKAGE = "mastercard_tfs_client"
PROGRAM = 49633  # not another test module's program: a backend's database is shared
OTHER_PROGRAM = 49634
URL = "https://img.example.com/"
Doc = dict[str, Any]


def mastercard_spec() -> Doc:
    with SPEC_PATH.open(encoding="utf-8") as f:
        spec: Doc = yaml.safe_load(f)
    return spec


# --- the generated client ---------------------------------------------------------------------


@dataclass
class Generated:
    package: ModuleType
    seconds: float

    def module(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Mastercard's spec, unchanged, through openapi-python-client into a temporary package.

    `--fail-on-warning`: a part of the spec the generator had to skip fails here. No post hooks
    (the generator would run ruff over its output; nothing here reads it but Python)."""
    out = tmp_path_factory.mktemp("generated")
    config = out / "config.yml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    started = time.monotonic()
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "openapi-python-client"),
            "generate",
            "--path",
            str(SPEC_PATH),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
            "--output-path",
            str(out / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"openapi-python-client failed:\n{done.stdout}\n{done.stderr}"
    sys.path.insert(0, str(out))
    try:
        package = importlib.import_module(PACKAGE)
        yield Generated(package, time.monotonic() - started)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class MastercardOAuth1(httpx.Auth):
    """Signs each request as Mastercard's gateway expects, with Mastercard's own library."""

    requires_request_body = True

    def __init__(self, consumer_key: str, key: rsa.RSAPrivateKey) -> None:
        self.consumer_key = consumer_key
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        body = request.content.decode() if request.content else None
        request.headers["Authorization"] = OAuth.get_authorization_header(
            str(request.url), request.method, body, self.consumer_key, self.key
        )
        yield request


@dataclass
class Exchanges:
    """Every request the generated client sent and the answer it got, as sent and received."""

    seen: list[httpx.Response] = field(default_factory=list)

    def record(self, response: httpx.Response) -> None:
        response.read()
        self.seen.append(response)


def base_url(server: LiveServer) -> str:
    """The spec's server URL with only the scheme and host changed: the live test server's."""
    (sandbox, *_) = mastercard_spec()["servers"]
    path = urlsplit(sandbox["url"]).path
    assert path == BASE_PATH == server.settings.base_path
    return server.origin + path


@pytest.fixture
def make_client(
    generated: Generated, server: LiveServer
) -> Iterator[Callable[[Client], tuple[Any, Exchanges]]]:
    """A generated client signing as a conftest client's credential, and what it exchanged."""
    opened: list[Any] = []

    def make(who: Client) -> tuple[Any, Exchanges]:
        exchanges = Exchanges()
        client = generated.package.Client(
            base_url=base_url(server),
            raise_on_unexpected_status=False,
            httpx_args={
                "auth": MastercardOAuth1(who.consumer_key, who.key),
                "event_hooks": {"response": [exchanges.record]},
            },
        )
        opened.append(client)
        return client, exchanges

    yield make
    for client in opened:
        client.get_httpx_client().close()


# --- validation against Mastercard's spec -----------------------------------------------------


def mastercard_fixes(spec: Doc) -> Doc:
    """The two fixes without which no true answer validates against Mastercard's spec:

    - Catalog.parentCatalogId: its description says "A null value indicates that the reward
      catalog hierarchy is a top-level hierarchy", but the schema lacks `nullable: true`, so a
      strict OpenAPI 3.0 validator refuses the null of every top level;
    - RewardItem.personalizationInformation: `required: [personalizationInformation]` names a
      property the object does not have, so every item with personalisation would fail.
    """
    fixed = copy.deepcopy(spec)
    schemas = fixed["components"]["schemas"]
    schemas["Catalog"]["properties"]["parentCatalogId"]["nullable"] = True
    personalization = schemas["RewardItem"]["properties"]["personalizationInformation"]
    assert personalization.pop("required") == ["personalizationInformation"]
    return fixed


@pytest.fixture(scope="session")
def mastercard_validator() -> OpenAPI:
    return OpenAPI.from_dict(_closed(mastercard_fixes(mastercard_spec())))


def mastercard_request(request: httpx.Request) -> MockRequest:
    """The request as Mastercard's sandbox would have received it (only the host differs)."""
    (sandbox, *_) = mastercard_spec()["servers"]
    parts = urlsplit(sandbox["url"])
    return MockRequest(
        f"{parts.scheme}://{parts.netloc}",
        request.method,
        request.url.path,
        args=dict(request.url.params.multi_items()),
        headers=dict(request.headers),
    )


def validate_against_mastercard(validator: OpenAPI, exchanges: Exchanges) -> int:
    """Every exchange: the request and the answer are what Mastercard's spec says."""
    for response in exchanges.seen:
        request = mastercard_request(response.request)
        validator.validate_request(request)
        reply = MockResponse(
            response.content,
            response.status_code,
            headers=dict(response.headers),
            content_type=response.headers.get("content-type", "application/json"),
        )
        validator.validate_response(request, reply)
    return len(exchanges.seen)


# --- the test catalog -------------------------------------------------------------------------


def catalog_document(program_id: int = PROGRAM) -> Doc:
    """Three levels in two languages; one item with every field, one with only the required."""
    return {
        "programId": program_id,
        "languages": ["en_US", "fr_CA"],
        "catalogs": [
            {
                "id": 9100,
                "parentCatalogId": None,
                "imageURL": URL + "root.jpg",
                "name": {"en_US": "Rewards", "fr_CA": "Récompenses"},
            },
            {
                "id": 9110,
                "parentCatalogId": 9100,
                "imageURL": URL + "gift.jpg",
                "name": {"en_US": "Gift Cards", "fr_CA": "Cartes-cadeaux"},
            },
            {
                "id": 9111,
                "parentCatalogId": 9110,
                "imageURL": URL + "dining.jpg",
                "name": {"en_US": "Dining"},
            },
        ],
        "rewardItems": [
            {
                "id": 74568,
                "catalogIds": [9111],
                "pointValue": 25.23,
                "imageURL": URL + "OliveGC25.jpg",
                "shortDescription": {"en_US": "$25 Olive Garden", "fr_CA": "Olive Garden 25 $"},
                "longDescription": {"en_US": "$25 Olive Garden Gift Card"},
                "orderInformation": {
                    "en_US": "Please allow 7-10 days for gift cards to arrive",
                    "fr_CA": "Prévoir 7 à 10 jours",
                },
                "shippingAddressRequired": True,
                "isRecurringType": True,
                "isRedeemable": True,
                "physicalAddressRequired": True,
                "isSingleQuantityType": False,
                "emailAddressRequired": False,
                "personalizationInformation": {
                    "isRequired": True,
                    "length": 2000,
                    "label": {"en_US": "Message", "fr_CA": "Message personnel"},
                },
                "redemptionFees": [
                    {
                        "description": {"en_US": "Point purchase", "fr_CA": "Achat de points"},
                        "amount": 50,
                        "quantityLevel": True,
                    },
                    {"description": {"en_US": "Shipping"}, "amount": 4.5, "quantityLevel": False},
                ],
                "productCodes": ["FIDOCASHBACK"],
                "keywords": ["dining", "restaurant"],
            },
            {
                "id": 74569,
                "catalogIds": [9111],
                "pointValue": 10,
                "imageURL": URL + "cafe.jpg",
                "shortDescription": {"en_US": "Café gift card"},
                "emailAddressRequired": True,
            },
        ],
    }


@pytest.fixture
def imported(platform: Client, make_customer: Callable[..., Client]) -> Client:
    """The test catalog, imported by the platform (PUT), and a customer of its program."""
    response = platform.request("PUT", f"/programs/{PROGRAM}/catalog", body=catalog_document())
    assert response.status_code == 200, (
        "importing the test catalog failed: the catalog routes (src/tfs/catalog) must serve "
        f"PUT {BASE_PATH}/programs/{{program_id}}/catalog; got {response.status_code} "
        f"{response.text}"
    )
    return make_customer(PROGRAM)


# --- the tests --------------------------------------------------------------------------------


def test_generated_client_has_mastercards_operations(generated: Generated) -> None:
    """The generator read the whole spec: both catalog operations and Mastercard's models."""
    assert callable(generated.module("api.catalogs.get_catalogs").sync_detailed)
    assert callable(generated.module("api.catalogs.get_items").sync_detailed)
    models = generated.module("models")
    for name in ("CatalogDetails", "Catalog", "RewardItems", "RewardItem", "RedemptionFees"):
        assert hasattr(models, name), name
    assert hasattr(models, "ErrorsWrapper")
    print(f"openapi-python-client generated the client in {generated.seconds:.2f} s")


def test_get_catalogs(
    generated: Generated,
    imported: Client,
    make_client: Callable[[Client], tuple[Any, Exchanges]],
    mastercard_validator: OpenAPI,
) -> None:
    get_catalogs = generated.module("api.catalogs.get_catalogs")
    models = generated.module("models")
    client, exchanges = make_client(imported)

    answer = get_catalogs.sync_detailed(client=client, program_id=PROGRAM, language="fr_CA")
    assert answer.status_code == 200, answer.content
    assert isinstance(answer.parsed, models.CatalogDetails)
    levels = answer.parsed.catalogs
    assert all(isinstance(c, models.Catalog) and not c.additional_properties for c in levels)
    fields = [(c.id, c.name, c.image_url, c.parent_catalog_id, c.has_reward_items) for c in levels]
    assert fields == [
        (9100, "Récompenses", URL + "root.jpg", None, False),
        (9110, "Cartes-cadeaux", URL + "gift.jpg", 9100, False),
        (9111, "Dining", URL + "dining.jpg", 9110, True),  # no fr_CA name: the default's
    ]  # fmt: skip
    assert answer.headers["Cache-Control"] == "private, max-age=60"

    english = get_catalogs.sync(client=client, program_id=PROGRAM)  # no language: en_US
    assert [c.name for c in english.catalogs] == ["Rewards", "Gift Cards", "Dining"]
    unrestricted = get_catalogs.sync(client=client, program_id=PROGRAM, product_code="NONE")
    assert [c.id for c in unrestricted.catalogs] == [9100, 9110, 9111]  # the café card is for all

    assert validate_against_mastercard(mastercard_validator, exchanges) == 3


def test_get_items(
    generated: Generated,
    imported: Client,
    make_client: Callable[[Client], tuple[Any, Exchanges]],
    mastercard_validator: OpenAPI,
) -> None:
    get_items = generated.module("api.catalogs.get_items")
    models = generated.module("models")
    client, exchanges = make_client(imported)

    answer = get_items.sync_detailed(9111, client=client, program_id=PROGRAM, language="fr_CA")
    assert answer.status_code == 200, answer.content
    assert isinstance(answer.parsed, models.RewardItems)
    full, bare = answer.parsed.reward_items
    assert isinstance(full, models.RewardItem) and not full.additional_properties
    assert full.to_dict() == {
        "id": 74568,
        "shortDescription": "Olive Garden 25 $",
        "longDescription": "$25 Olive Garden Gift Card",  # no fr_CA: the default's
        "imageURL": URL + "OliveGC25.jpg",
        "pointValue": 25.23,
        "shippingAddressRequired": True,
        "isRecurringType": True,
        "isRedeemable": True,
        "physicalAddressRequired": True,
        "isSingleQuantityType": False,
        "emailAddressRequired": False,
        "orderInformation": "Prévoir 7 à 10 jours",
        "personalizationInformation": {
            "isRequired": True,
            "length": 2000,
            "label": "Message personnel",
        },
        "redemptionFees": [
            {"description": "Achat de points", "amount": 50, "quantityLevel": True},
            {"description": "Shipping", "amount": 4.5, "quantityLevel": False},
        ],
    }
    # The models themselves, field by field (Python names of the generated classes).
    assert (full.id, full.short_description, full.point_value) == (
        74568,
        "Olive Garden 25 $",
        25.23,
    )
    assert full.image_url == URL + "OliveGC25.jpg"
    assert (full.shipping_address_required, full.is_recurring_type, full.is_redeemable) == (
        True,
        True,
        True,
    )
    assert (full.physical_address_required, full.is_single_quantity_type) == (True, False)
    assert full.email_address_required is False
    personalization = full.personalization_information
    assert isinstance(personalization, models.RewardItemPersonalizationInformation)
    assert (personalization.is_required, personalization.length, personalization.label) == (
        True,
        2000,
        "Message personnel",
    )
    fees = full.redemption_fees
    assert all(isinstance(f, models.RedemptionFees) and not f.additional_properties for f in fees)
    assert [(f.description, f.amount, f.quantity_level) for f in fees] == [
        ("Achat de points", 50, True),
        ("Shipping", 4.5, False),
    ]
    # Optional texts given in no language are "", personalisation absent is all defaults.
    assert (bare.id, bare.short_description, bare.long_description) == (74569, "Café gift card", "")
    assert (bare.order_information, bare.email_address_required, bare.is_redeemable) == (
        "",
        True,
        False,
    )
    assert bare.personalization_information.to_dict() == {
        "isRequired": False,
        "length": 0,
        "label": "",
    }
    assert bare.redemption_fees == []

    # Mastercard's filters, through the generated client's own parameters.
    def ids(**filters: Any) -> list[int]:
        found = get_items.sync(9111, client=client, program_id=PROGRAM, **filters)
        assert isinstance(found, models.RewardItems), found
        return [i.id for i in found.reward_items]

    assert ids(min_points=0, max_points=20) == [74569]
    assert ids(keyword="restaurant") == [74568]
    assert ids(keyword="cafe") == [74569]
    assert ids(keyword="olive garden") == [74568]  # httpx sends "olive+garden", signed as sent
    assert ids(product_code="FIDOCASHBACK") == [74568, 74569]
    assert ids(product_code="OTHER") == [74569]
    assert ids() == [74568, 74569] and get_items.sync(9100, client=client, program_id=PROGRAM)

    assert validate_against_mastercard(mastercard_validator, exchanges) == 9


def test_errors_in_mastercards_envelope(
    generated: Generated,
    imported: Client,
    vendor: Client,
    make_client: Callable[[Client], tuple[Any, Exchanges]],
    mastercard_validator: OpenAPI,
) -> None:
    get_catalogs = generated.module("api.catalogs.get_catalogs")
    get_items = generated.module("api.catalogs.get_items")
    models = generated.module("models")
    client, exchanges = make_client(imported)
    as_vendor, vendor_exchanges = make_client(vendor)

    def error(answer: Any, status: int) -> tuple[str, str, str]:
        assert answer.status_code == status, answer.content
        assert isinstance(answer.parsed, models.ErrorsWrapper)
        (item,) = answer.parsed.errors.error
        assert item.recoverable is False and not item.additional_properties
        return item.source, item.reason_code, item.description

    source = "mrs-catalog-api"
    unknown = get_items.sync_detailed(4242, client=client, program_id=PROGRAM)
    assert error(unknown, 400) == (source, "INVALID_INPUT", "Invalid Reward Catalog HierarchyId.")
    bounds = get_items.sync_detailed(
        9111, client=client, program_id=PROGRAM, min_points=9, max_points=1
    )
    assert error(bounds, 400)[1] == "INVALID_FIELD_VALUE" and "min_points" in error(bounds, 400)[2]
    language = get_catalogs.sync_detailed(client=client, program_id=PROGRAM, language="de_DE")
    assert (
        error(language, 400)[1] == "INVALID_FIELD_VALUE" and "language" in error(language, 400)[2]
    )
    not_mine = get_catalogs.sync_detailed(client=client, program_id=OTHER_PROGRAM)
    denied = (source, "INVALID_CLIENT_ID", "ClientId doesn't have access to the requested service.")
    assert error(not_mine, 401) == denied
    assert error(get_catalogs.sync_detailed(client=as_vendor, program_id=PROGRAM), 401) == denied
    assert error(get_items.sync_detailed(9111, client=as_vendor, program_id=PROGRAM), 401) == denied

    assert validate_against_mastercard(mastercard_validator, exchanges) == 4
    assert validate_against_mastercard(mastercard_validator, vendor_exchanges) == 2


def test_no_catalog_is_empty_and_etag_answers_304(
    generated: Generated,
    imported: Client,
    platform: Client,
    make_client: Callable[[Client], tuple[Any, Exchanges]],
    mastercard_validator: OpenAPI,
) -> None:
    get_catalogs = generated.module("api.catalogs.get_catalogs")
    get_items = generated.module("api.catalogs.get_items")
    client, exchanges = make_client(platform)
    nothing = 987_654_321
    assert get_catalogs.sync(client=client, program_id=nothing).catalogs == []
    assert get_items.sync(1, client=client, program_id=nothing).reward_items == []
    assert validate_against_mastercard(mastercard_validator, exchanges) == 2

    # Mastercard's spec has no If-None-Match and no 304: a generated client sends the header
    # only when told to, and then gets an answer its spec does not name (parsed as None).
    first = get_catalogs.sync_detailed(client=client, program_id=PROGRAM)
    etag = first.headers["ETag"]
    cached = client.with_headers({"If-None-Match": etag})
    again = get_catalogs.sync_detailed(client=cached, program_id=PROGRAM)
    assert (again.status_code, again.content, again.parsed) == (304, b"", None)
    assert again.headers["ETag"] == etag


def test_mastercards_spec_as_published_refuses_every_true_answer(
    mastercard_validator: OpenAPI,
) -> None:
    """Why `mastercard_fixes` exists: with the spec exactly as published, the top level's null
    parentCatalogId and any personalizationInformation fail validation. And the fixed copy is
    still strict: a property Mastercard does not name fails."""
    as_published = OpenAPI.from_dict(_closed(mastercard_spec()))
    sandbox = "https://sandbox.api.mastercard.com"

    def answer(path: str, body: Doc) -> tuple[MockRequest, MockResponse]:
        request = MockRequest(sandbox, "get", BASE_PATH + path, args={"program_id": "1"})
        return request, MockResponse(json.dumps(body).encode(), 200)

    top = {"id": 1, "name": "R", "imageURL": URL, "parentCatalogId": None, "hasRewardItems": False}
    personalization = {"isRequired": False, "length": 0, "label": ""}
    item = {"id": 2, "shortDescription": "S", "personalizationInformation": personalization}
    catalogs = answer("/catalogs", {"catalogs": [top]})
    items = answer("/catalogs/1/items", {"rewardItems": [item]})
    for request, reply in (catalogs, items):
        mastercard_validator.validate_response(request, reply)
        with pytest.raises(InvalidData):
            as_published.validate_response(request, reply)
    extra = answer("/catalogs", {"catalogs": [top | {"parentCatalogId": 7, "ours": 1}]})
    with pytest.raises(InvalidData):
        mastercard_validator.validate_response(*extra)
