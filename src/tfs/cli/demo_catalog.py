"""The demo's catalog: program 49631 in two languages, a few levels, a dozen reward items."""

from __future__ import annotations

from typing import Any

PROGRAM_ID = 49631
IMAGES = "https://www.loyaltygateway.com/rewards/ImageDisplayServlet?file=/demo/"

_LEVELS = [
    (7991, None, "Rewards", "Récompenses"),
    (8032, 7991, "Gift Cards", "Cartes-cadeaux"),
    (8040, 8032, "Dining", "Restaurants"),
    (8041, 8032, "Retail", "Magasins"),
    (8100, 7991, "Travel", "Voyages"),
    (8200, 7991, "Merchandise", "Marchandises"),
    (8210, 8200, "Electronics", "Électronique"),
    (8220, 8200, "Home", "Maison"),
]

# id, leaf, points, English, French, product codes, keywords
_ITEMS: list[tuple[int, int, float, str, str | None, list[str], list[str]]] = [
    (
        74568,
        8040,
        25.23,
        "$25 Olive Garden Gift Card",
        "Carte-cadeau Olive Garden 25 $",
        ["FIDOCASHBACK"],
        ["dining", "restaurant"],
    ),
    (
        74569,
        8040,
        50,
        "$50 Olive Garden Gift Card",
        "Carte-cadeau Olive Garden 50 $",
        [],
        ["dining", "restaurant"],
    ),
    (74570, 8040, 10, "$10 Café Gift Card", "Carte-cadeau café 10 $", [], ["coffee"]),
    (74580, 8041, 25, "$25 Bookstore Gift Card", "Carte-cadeau librairie 25 $", [], ["books"]),
    (74581, 8041, 100, "$100 Department Store Gift Card", None, ["PLATINUM"], []),
    (74590, 8100, 5000, "Domestic Flight Voucher", "Bon de vol intérieur", [], ["airline"]),
    (74591, 8100, 2500, "Hotel Night", "Nuit d'hôtel", [], ["hotel", "stay"]),
    (74592, 8100, 800, "Airport Lounge Pass", None, ["PLATINUM"], ["airport"]),
    (74600, 8210, 12000, "Wireless Headphones", "Écouteurs sans fil", [], ["audio"]),
    (74601, 8210, 30000, "Tablet 10 inch", "Tablette 10 pouces", [], ["tablet"]),
    (74610, 8220, 4000, "Coffee Maker", "Cafetière", [], ["kitchen", "coffee"]),
    (74611, 8220, 6000, "Cookware Set", "Batterie de cuisine", [], ["kitchen"]),
]


def document() -> dict[str, Any]:
    catalogs = [
        {
            "id": cid,
            "parentCatalogId": parent,
            "imageURL": f"{IMAGES}categories/{cid}.jpg",
            "name": {"en_US": en, "fr_CA": fr},
        }
        for cid, parent, en, fr in _LEVELS
    ]
    items = []
    for iid, leaf, points, en, fr, codes, words in _ITEMS:
        physical = leaf in (8210, 8220)
        gift_card = leaf in (8040, 8041)
        item: dict[str, Any] = {
            "id": iid,
            "catalogIds": [leaf],
            "pointValue": points,
            "imageURL": f"{IMAGES}items/{iid}.jpg",
            "shortDescription": {"en_US": en, **({"fr_CA": fr} if fr else {})},
            "longDescription": {"en_US": f"{en}, delivered to you."},
            "orderInformation": {
                "en_US": "Please allow 7-10 days for gift cards to arrive"
                if gift_card
                else "Ships within 2 weeks",
                "fr_CA": "Prévoir 7 à 10 jours" if gift_card else "Expédié sous 2 semaines",
            },
            "shippingAddressRequired": physical or gift_card,
            "isRecurringType": False,
            "isRedeemable": iid != 74601,
            "physicalAddressRequired": physical,
            "isSingleQuantityType": leaf == 8100,
            "emailAddressRequired": leaf == 8100,
            "personalizationInformation": {
                "isRequired": False,
                "length": 200 if gift_card else 0,
                "label": {"en_US": "Message", "fr_CA": "Message"},
            },
            "redemptionFees": [
                {"description": {"en_US": "Shipping"}, "amount": 50, "quantityLevel": True}
            ]
            if physical
            else [],
            "productCodes": codes,
            "keywords": words,
        }
        items.append(item)
    return {
        "programId": PROGRAM_ID,
        "languages": ["en_US", "fr_CA"],
        "catalogs": catalogs,
        "rewardItems": items,
    }
