"""Demo data for a first try: vendor `carltonone`, its key, placed orders, an update to send;
program 49631's catalog and a customer key to read it; a platform key to read orders and the
change feed back."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

import click

from tfs import clock
from tfs.access import credentials
from tfs.access import usecases as access
from tfs.catalog import document as catalog_document
from tfs.catalog import usecases as catalog
from tfs.cli import demo_catalog
from tfs.cli.context import EXIT_CONFIG, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.cli.credentials import register as register_credential
from tfs.cli.request import Signer, write_credential
from tfs.db.store import Store
from tfs.orders import usecases
from tfs.orders.placement import parse_placement

VENDOR = "carltonone"
ORDERS = [
    ("afd72396-b9c0-11ed-afa1-0242ac120002", "656afd7-2396-54345-34545"),
    ("b1c2d3e4-0000-4000-8000-000000000002", None),
    ("b1c2d3e4-0000-4000-8000-000000000003", None),
]


def _placements() -> list[dict[str, object]]:
    return [
        {
            "mcOrderId": mc_order_id,
            "vendorId": VENDOR,
            "orderId": order_id,
            "programId": "49631",
            "items": [
                {
                    "mcId": f"{mc_order_id[:8]}-item-1",
                    "id": "order-item-1",
                    "rewardItemId": "74568",
                    "description": "$25 Olive Garden Gift Card",
                },
                {
                    "mcId": f"{mc_order_id[:8]}-item-2",
                    "rewardItemId": "74569",
                    "description": "$50 Olive Garden Gift Card",
                    "quantity": 2,
                },
            ],
        }
        for mc_order_id, order_id in ORDERS
    ]


def _update() -> list[dict[str, object]]:
    mc_order_id, order_id = ORDERS[0]
    return [
        {
            "orderId": order_id,
            "mcOrderId": mc_order_id,
            "orderItems": [
                {
                    "id": "order-item-1",
                    "mcId": f"{mc_order_id[:8]}-item-1",
                    "status": "Shipped",
                    "trackingNumber": "Track123",
                    "trackingUrl": "https://tracking-url.com/order/123",
                    "histories": [
                        {
                            "orderItemNumber": "order-item-1",
                            "eventType": "note",
                            "eventDate": "2023-10-03T21:05:10Z",
                            "note": "GRS order item created for partner system order number: "
                            "SL_OCT-03-2023-16-431 Status is pending.",
                        }
                    ],
                }
            ],
        },
        {"mcOrderId": ORDERS[1][0], "orderId": "carlton-0002", "status": "Processing"},
    ]


Register = Callable[[str, str, str | None, str], None]  # consumer key, role, vendor, PEM


def _credential(
    store: Store, saved: Path, label: str, role: str, vendor: str | None, register: Register
) -> dict[str, str]:
    """The credential saved in `saved` if it is still registered, else a new one saved there."""
    known = {c.consumer_key for c in access.list_credentials(store)}
    if saved.exists() and json.loads(saved.read_text())["consumerKey"] in known:
        known_cred: dict[str, str] = json.loads(saved.read_text())
        return known_cred
    issued = credentials.issue(saved.parent, label)
    register(issued.consumer_key, role, vendor, issued.public_key_pem)
    who: dict[str, object] = {"role": role}
    if vendor is not None:
        who["vendorId"] = vendor
    if role == "customer":
        who["programs"] = [demo_catalog.PROGRAM_ID]
    write_credential(
        saved, Signer(issued.consumer_key, str(issued.p12_path), issued.password), **who
    )
    cred: dict[str, str] = json.loads(saved.read_text())
    return cred


def set_up(store: Store, out: Path, api_url: str, register: Register) -> str:
    """Idempotent: a second run reuses the keys, orders and catalog of the first."""
    now = clock.now()
    access.add_vendor(store, VENDOR, "Carlton One Engagement", now)
    out.mkdir(parents=True, exist_ok=True)
    _credential(store, out / "credential.json", VENDOR, "vendor", VENDOR, register)
    _credential(store, out / "customer.json", "customer", "customer", None, register)
    _credential(store, out / "platform.json", "platform", "platform", None, register)
    # The catalog first: placing an order checks its reward items against it.
    doc = demo_catalog.document()
    (out / "catalog.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    program, faults = catalog_document.parse(doc)
    assert program is not None, faults
    catalog.import_catalog(store, program, now)
    for obj in _placements():
        placement, _ = parse_placement(obj)
        assert placement is not None
        usecases.place_order(store, placement, now)
    update_file = out / "update.json"
    update_file.write_text(json.dumps(_update(), indent=2))
    vendor, customer, platform = (
        str(out / f"{name}.json") for name in ("credential", "customer", "platform")
    )
    command = ["tfs", "send-status", "--url", api_url, "--credential", vendor, VENDOR]
    command.append(str(update_file))
    program_id = demo_catalog.PROGRAM_ID

    def request(path: str, credential: str) -> str:
        return shlex.join(["tfs", "request", "GET", api_url + path, "--credential", credential])

    steps = [
        ("send a signed status update as the vendor", shlex.join(command)),
        (
            "read the order back, and the change feed, as the platform",
            request(f"/orders/{ORDERS[0][0]}", platform)
            + "\n  .venv/bin/"
            + request("/events?after=0&limit=10", platform),
        ),
        (
            "pass every change to a webhook of yours (Standard Webhooks; the secret is printed)",
            "tfs webhooks add http://127.0.0.1:9000/tfs-events",
        ),
        (
            "open the operations console: add an operator (sign in with the one-time password"
            " it prints, then choose your own)",
            f"tfs operators add admin\n  # then browse to {api_url}/console",
        ),
        (
            "read the program's catalogs, and search its items, as a program customer",
            request(f"/catalogs?program_id={program_id}&language=fr_CA", customer)
            + "\n  .venv/bin/"
            + request(f"/catalogs/7991/items?program_id={program_id}&keyword=coffee", customer),
        ),
    ]
    return (
        f"Demo vendor {VENDOR} is ready with {len(ORDERS)} placed orders, and program"
        f" {program_id} with a catalog ({out / 'catalog.json'}).\n"
        f"Once the service is up, from another shell:\n\n"
        + "\n".join(f"  # {why}\n  .venv/bin/{line}\n" for why, line in steps)
    )


@click.command()
@click.option(
    "--out", default="var/demo", show_default=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True)
@pass_ctx
def demo(ctx: Context, out: Path, base_url: str) -> None:
    """Set up a demo vendor `carltonone` with a key, placed orders and an update to send."""
    if ctx.settings.is_production:
        _fail("demo data is refused when TFS_ENV=production", EXIT_CONFIG)
    click.echo(
        set_up(ctx.store, out, base_url.rstrip("/") + ctx.settings.base_path, _register_demo(ctx))
    )


def _register_demo(ctx: Context) -> Register:
    def register_demo(consumer_key: str, role: str, vendor: str | None, pem: str) -> None:
        programs = (demo_catalog.PROGRAM_ID,) if role == "customer" else ()
        register_credential(ctx, consumer_key, role, vendor, pem, is_demo=True, programs=programs)

    return register_demo


COMMANDS = (demo,)
