"""Demo data for a first try: vendor `carltonone`, its key, placed orders, an update to send."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

import click

from tfs import clock
from tfs.access import credentials
from tfs.access import usecases as access
from tfs.cli.context import EXIT_CONFIG, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.cli.credentials import register as register_credential
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


def set_up(store: Store, out: Path, api_url: str, register: Callable[[str, str, str], None]) -> str:
    """Idempotent: a second run reuses the key and orders of the first."""
    now = clock.now()
    access.add_vendor(store, VENDOR, "Carlton One Engagement", now)
    saved = out / "credential.json"
    known = {c.consumer_key for c in access.list_credentials(store)}
    if saved.exists() and json.loads(saved.read_text())["consumerKey"] in known:
        cred = json.loads(saved.read_text())
    else:
        issued = credentials.issue(out, VENDOR)
        register(issued.consumer_key, VENDOR, issued.public_key_pem)
        cred = {
            "consumerKey": issued.consumer_key,
            "p12": str(issued.p12_path),
            "password": issued.password,
        }
        saved.write_text(json.dumps(cred, indent=2))
        saved.chmod(0o600)
    for obj in _placements():
        placement, _ = parse_placement(obj)
        assert placement is not None
        usecases.place_order(store, placement, now)
    update_file = out / "update.json"
    update_file.write_text(json.dumps(_update(), indent=2))
    command = [
        "tfs",
        "send-status",
        "--url",
        api_url,
        "--consumer-key",
        cred["consumerKey"],
        "--p12",
        cred["p12"],
        "--password",
        cred["password"],
        VENDOR,
        str(update_file),
    ]
    return (
        f"Demo vendor {VENDOR} is ready with {len(ORDERS)} placed orders.\n"
        f"Once the service is up, send a signed update (from another shell):\n\n"
        f"  .venv/bin/{shlex.join(command)}\n"
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


def _register_demo(ctx: Context) -> Callable[[str, str, str], None]:
    def register_demo(consumer_key: str, vendor: str, pem: str) -> None:
        register_credential(ctx, consumer_key, "vendor", vendor, pem, is_demo=True)

    return register_demo


COMMANDS = (demo,)
