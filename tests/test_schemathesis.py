"""Schemathesis over every operation of the served document, every request signed.

Each operation gets a fixed number of generated requests (a fixed seed, so a run is repeatable),
valid and invalid, signed with Mastercard's own `OAuth1RSA` as the caller the operation is for
would sign them. Every answer must be documented: no 5xx, a status the document lists for the
operation, a body and headers that match the schema given for that status, and every request
the document calls valid accepted. A path's `vendor_id` is the signing vendor's, so requests
get past authentication and reach validation and the use cases.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from oauth1.oauth_ext import OAuth1RSA
from schemathesis import Case, CheckContext, Response
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi import checks

from conftest import BASE_PATH, NO_RELAY, Client, LiveServer, add_credential, now, private_key
from tfs.access import usecases as access
from tfs.api import docs
from tfs.config import Settings
from tfs.db.store import Store

# Enough to reach every parameter's edge cases; ~N requests per operation. TFS_SCHEMATHESIS_EXAMPLES
# raises it for a longer campaign by hand.
EXAMPLES = int(os.environ.get("TFS_SCHEMATHESIS_EXAMPLES", "60"))

# The document is the one the test server serves (tests/test_openapi.py checks that they are
# the same); built here, at collection, so that each operation is its own test.
DOCUMENT = docs.openapi(Settings(base_path=BASE_PATH, rate_limit=None, relay=NO_RELAY))
# Security parameters are not generated: OAuth1RSA signs each request as it is sent (a generated
# or missing Authorization header would only test that unsigned requests fail, which
# tests/test_authentication.py does case by case). A request the document calls invalid must be
# refused with a 4xx the document lists: 413, 414 and 431 are refusals too (sizes).
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429, 431]
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"with-security-parameters": False},
        "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

# What a schema-valid request may still be refused for, because it depends on what is stored or
# on a rule between values that a schema cannot state; each is documented for its operation.
# (status, ReasonCode as a regular expression). Any other refusal of a valid request is a
# mismatch between the document and the service.
NOT_IN_THE_SCHEMA = {
    "GET /catalogs": {(400, "INVALID_FIELD_VALUE")},  # a language the program does not configure
    "GET /catalogs/{catalog_id}/items": {
        (400, "INVALID_FIELD_VALUE"),  # a language not configured; min above max; many words
        (400, "INVALID_INPUT"),  # a catalog the program does not hold
    },
    "PUT /programs/{program_id}/catalog": {(400, "INVALID_FIELD_VALUE")},  # ids that don't add up
    "POST /orders": {
        (400, "INVALID_FIELD_VALUE_VENDOR_ID"),  # no such vendor
        (400, r"INVALID_FIELD_VALUE_ITEMS\[[0-9]+\]\.MC_ID"),  # an mcId repeated in the order
        (400, r"INVALID_FIELD_VALUE_ITEMS\[[0-9]+\]\.REWARD_ITEM_ID"),  # not in the catalog
    },
    "GET /vendors/{vendor_id}/orders/status": {(400, "INVALID_FIELD_VALUE_CURSOR")},  # not ours
    # The document's example Idempotency-Key, used again with another request.
    "POST /vendors/{vendor_id}/orders/status": {(422, "IDEMPOTENCY_KEY_REUSED")},
}


def _label(case: Case) -> str:
    return f"{case.method.upper()} {case.path.removeprefix(BASE_PATH)}"


def positive_data_acceptance(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis' own check, but for the documented refusals above."""
    try:
        return checks.positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code in REFUSALS and not _path_is_valid(case):
            # Schemathesis percent-encodes path values in place, then judges the encoded text
            # (all ASCII) valid: decoded, it is not, and a refusal is the right answer.
            return None
        reasons = _reasons(response)
        for status, reason in NOT_IN_THE_SCHEMA.get(_label(case), ()):
            if (
                response.status_code == status
                and reasons
                and all(re.fullmatch(reason, r) for r in reasons)
            ):
                return None
        raise


def negative_data_rejection(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Schemathesis' own check, but for what OrderPlacementArray documents: an element that is
    not a valid OrderPlacement fails alone, inside a 200, for a reason of validation."""
    try:
        return checks.negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if _label(case) == "POST /orders" and response.status_code == 200:
            results = json.loads(response.content)
            if any(
                r.get("result") == "FAILED" and str(r.get("errorCode")).startswith(VALIDATION)
                for r in results
            ):
                return None
        raise


VALIDATION = ("MISSING_REQUIRED_FIELD", "INVALID_FIELD_VALUE", "INVALID_REQUEST_BODY")


def _path_parameters(method: str, path: str) -> dict[str, Any]:
    out = {}
    for param in DOCUMENT["paths"][path][method.lower()].get("parameters", []):
        if "$ref" in param:
            param = DOCUMENT["components"]["parameters"][param["$ref"].rsplit("/", 1)[1]]
        if param["in"] == "path":
            out[param["name"]] = jsonschema_rs.validator_for(param["schema"])
    return out


def _path_is_valid(case: Case) -> bool:
    validators = _path_parameters(case.method, case.path)
    given = {k: unquote(v) if isinstance(v, str) else v for k, v in case.path_parameters.items()}
    return all(v.is_valid(given.get(name)) for name, v in validators.items())


def _reasons(response: Response) -> list[str]:
    try:
        return [str(e["ReasonCode"]) for e in json.loads(response.content)["Errors"]["Error"]]
    except (ValueError, KeyError, IndexError, TypeError):
        return []


@pytest.fixture(scope="module")
def callers(store: Store) -> dict[str, Client]:
    """A vendor and the platform, each with its credential (the server serves `store`)."""
    vendor_id = f"vendor-{uuid.uuid4().hex[:12]}"
    access.add_vendor(store, vendor_id, None, now())
    vendor_key, platform_key = private_key(0), private_key(1)
    return {
        "vendor": Client(
            "", add_credential(store, "vendor", vendor_id, vendor_key), vendor_key, vendor_id
        ),
        "platform": Client("", add_credential(store, "platform", None, platform_key), platform_key),
    }


@pytest.fixture(scope="module")
def sessions(callers: dict[str, Client]) -> Iterator[dict[str, requests.Session]]:
    """A signing session per caller; the statuses answered are counted and printed at the end
    (pytest -s shows them: the figures of a campaign)."""
    seen: Counter[int] = Counter()

    def count(response: requests.Response, *_: Any, **__: Any) -> None:
        seen[response.status_code] += 1

    out = {}
    for role, client in callers.items():
        session = requests.Session()
        session.auth = OAuth1RSA(client.consumer_key, client.key)
        session.hooks["response"].append(count)
        out[role] = session
    yield out
    print(f"\nschemathesis: {seen.total()} signed requests, by status {dict(sorted(seen.items()))}")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_answer_is_documented(
    case: schemathesis.Case,
    server: LiveServer,
    callers: dict[str, Client],
    sessions: dict[str, requests.Session],
) -> None:
    path = dict(case.path_parameters or {})
    role = "vendor" if "vendor_id" in path else "platform"
    if role == "vendor":  # the signer's own vendor: past authentication, into the use cases
        path["vendor_id"] = callers["vendor"].vendor_id
    body = case.body
    if "program_id" in path and isinstance(body, dict) and isinstance(body.get("programId"), int):
        path["program_id"] = body["programId"]  # a catalog for the URL's program
    case.path_parameters = path
    response = case.call(base_url=server.origin, session=sessions[role], timeout=30)
    case.validate_response(
        response,
        excluded_checks=[
            checks.ignored_auth,
            checks.positive_data_acceptance,
            checks.negative_data_rejection,
        ],
        additional_checks=[positive_data_acceptance, negative_data_rejection],
    )
