"""The `tfs` command: serve, migrate, onboard vendors and keys, place orders, act as a vendor."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from tfs import clock
from tfs.access import credentials as creds
from tfs.access import usecases as access
from tfs.access.repository import Credential, Vendors
from tfs.cli.context import EXIT_CONFIG, EXIT_REFUSED, EXIT_USAGE, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.cli.events import COMMANDS as EVENT_COMMANDS
from tfs.db.engine import upgrade
from tfs.errors import ConfigurationError, TfsError, ValidationFailed
from tfs.fields import printable
from tfs.orders import usecases
from tfs.orders.placement import parse_placements


@click.group()
def main() -> None:
    """Traditional Fulfillment Service."""


for _command in EVENT_COMMANDS:  # tfs webhooks …, tfs events …, tfs relay
    main.add_command(_command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
    """Run the HTTP service (an empty SQLite database is migrated first)."""
    import uvicorn

    ctx.store  # noqa: B018 - migrates or refuses before any worker starts
    # Worker processes read their settings from the environment; tell them how many there are
    # (one process on SQLite may keep rate-limit counters in memory).
    os.environ["TFS_WORKERS"] = str(workers)
    uvicorn.run(
        "tfs.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Apply every migration not yet applied."""
    upgrade(ctx.settings.database_url)
    click.echo("database is at the latest migration")


@main.group()
def vendors() -> None:
    """Vendors that fulfil orders."""


@vendors.command("add")
@click.argument("vendor_id")
@click.option("--name", default=None)
@pass_ctx
def vendors_add(ctx: Context, vendor_id: str, name: str | None) -> None:
    """Onboard a vendor."""
    if not vendor_id or len(vendor_id) > 64 or not printable(vendor_id) or "/" in vendor_id:
        _fail("VENDOR_ID must be 1 to 64 printable characters without '/'", EXIT_USAGE)
    created = access.add_vendor(ctx.store, vendor_id, name, clock.now())
    click.echo(f"vendor {vendor_id} {'added' if created else 'already exists'}")


@vendors.command("list")
@pass_ctx
def vendors_list(ctx: Context) -> None:
    for vendor_id, name in access.list_vendors(ctx.store):
        click.echo(f"{vendor_id}\t{name or ''}")


@main.group()
def credentials() -> None:
    """Consumer keys and the public keys that verify their signatures."""


def _role(vendor: str | None, platform: bool) -> tuple[str, str | None]:
    if bool(vendor) == platform:
        _fail("give exactly one of --vendor V or --platform", EXIT_USAGE)
    return ("platform", None) if platform else ("vendor", vendor)


def _register(
    ctx: Context, consumer_key: str, role: str, vendor: str | None, pem: str, is_demo: bool = False
) -> None:
    try:
        added = access.add_credential(
            ctx.store,
            Credential(
                consumer_key, role, vendor, pem, creds.fingerprint(pem), False, is_demo, clock.now()
            ),
        )
    except TfsError as exc:
        _fail(exc.description, EXIT_REFUSED)
    if not added:
        _fail(f"consumer key {consumer_key} is already registered", EXIT_REFUSED)


@credentials.command("add")
@click.option("--vendor", default=None)
@click.option("--platform", is_flag=True)
@click.option("--certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consumer-key", default=None, help="Keep a key issued elsewhere.")
@pass_ctx
def credentials_add(
    ctx: Context,
    vendor: str | None,
    platform: bool,
    certificate: Path | None,
    public_key: Path | None,
    consumer_key: str | None,
) -> None:
    """Register a client's certificate or public key; prints the consumer key."""
    role, vendor_id = _role(vendor, platform)
    source = certificate or public_key
    if source is None or (certificate and public_key):
        _fail("give exactly one of --certificate FILE or --public-key FILE", EXIT_USAGE)
    try:
        pem = creds.public_key_pem_from(source.read_bytes())
    except ConfigurationError as exc:
        _fail(str(exc), EXIT_USAGE)
    key = consumer_key or creds.new_consumer_key()
    _register(ctx, key, role, vendor_id, pem)
    click.echo(key)


@credentials.command("create")
@click.option("--vendor", default=None)
@click.option("--platform", is_flag=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def credentials_create(ctx: Context, vendor: str | None, platform: bool, out: Path) -> None:
    """Make a key pair and PKCS#12 file as Mastercard's portal does, and register it."""
    role, vendor_id = _role(vendor, platform)
    if vendor_id is not None:
        with ctx.store.transaction(readonly=True) as uow:
            if not Vendors(uow).exists(vendor_id):
                _fail(
                    f"vendor {vendor_id} does not exist: add it with `tfs vendors add`",
                    EXIT_REFUSED,
                )
    issued = creds.issue(out, vendor_id or "platform")
    try:
        _register(ctx, issued.consumer_key, role, vendor_id, issued.public_key_pem)
    except SystemExit:
        issued.p12_path.unlink(missing_ok=True)  # a key nobody can use is not left behind
        raise
    click.echo(f"consumer key: {issued.consumer_key}")
    click.echo(f"p12 file:     {issued.p12_path}")
    click.echo(f"password:     {issued.password}")


@credentials.command("list")
@pass_ctx
def credentials_list(ctx: Context) -> None:
    for c in access.list_credentials(ctx.store):
        state = "revoked" if c.revoked else "active"
        who = c.vendor_id or "-"
        click.echo(
            f"{c.consumer_key}\t{c.role}\t{who}\t{state}\t{c.fingerprint[:16]}"
            f"{chr(9) + 'demo' if c.is_demo else ''}"
        )


@credentials.command("revoke")
@click.argument("consumer_key")
@pass_ctx
def credentials_revoke(ctx: Context, consumer_key: str) -> None:
    if not access.revoke_credential(ctx.store, consumer_key):
        _fail("no such consumer key", EXIT_REFUSED)
    click.echo("revoked")


@main.group()
def orders() -> None:
    """Orders placed with vendors."""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        _fail(f"{path}: not a readable JSON file ({exc})", EXIT_USAGE)


@orders.command("place")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def orders_place(ctx: Context, file: Path) -> None:
    """Place one order (an object) or many (an array, of any length) from a JSON file.

    The orders go in batches of the per-request limit, each in one transaction: a line per order
    on stdout, failures and progress on stderr. Exits 2 if an order was invalid, else 1 if one
    was refused (a conflict, an unknown vendor); the others are placed all the same.
    """
    data = _load_json(file)
    entries = data if isinstance(data, list) else [data]
    total, batch = len(entries), ctx.settings.max_orders_per_request
    counts = dict.fromkeys((usecases.PLACED, usecases.ALREADY_PLACED, usecases.PLACEMENT_FAILED), 0)
    invalid = False
    started = time.monotonic()
    for start in range(0, total, batch):
        parsed = parse_placements(entries[start : start + batch])
        try:
            outcomes = usecases.place_orders(ctx.store, parsed, clock.now())
        except TfsError as exc:
            _fail(f"orders {start} to {start + len(parsed) - 1}: {exc.description}", EXIT_REFUSED)
        for n, outcome in enumerate(outcomes, start=start):
            counts[outcome.result] += 1
            if outcome.result == usecases.PLACEMENT_FAILED:
                invalid = invalid or isinstance(outcome.refused, ValidationFailed)
                who = f"{outcome.mc_order_id}: " if outcome.mc_order_id else ""
                click.echo(f"order {n}: {who}{outcome.error.description}", err=True)
            else:
                shown = "placed" if outcome.result == usecases.PLACED else "already placed"
                click.echo(f"{outcome.mc_order_id}\t{shown}")
        if total > batch:
            done = start + len(parsed)
            click.echo(f"placed {done}/{total} ({_rate(done, started)})", err=True)
    click.echo(
        f"{counts[usecases.PLACED]} placed, {counts[usecases.ALREADY_PLACED]} already placed,"
        f" {counts[usecases.PLACEMENT_FAILED]} failed of {total} ({_rate(total, started)})",
        err=True,
    )
    if invalid:
        sys.exit(EXIT_USAGE)
    if counts[usecases.PLACEMENT_FAILED]:
        sys.exit(EXIT_REFUSED)


def _rate(done: int, started: float) -> str:
    elapsed = time.monotonic() - started
    return f"{elapsed:.1f} s, {done / elapsed if elapsed else 0:,.0f} orders/s"


@main.command("send-status")
@click.option("--url", "base_url", required=True, help="e.g. http://127.0.0.1:8000/loyalty/rewards")
@click.option("--consumer-key", required=True)
@click.option("--p12", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--password", required=True)
@click.option("--idempotency-key", default=None)
@click.argument("vendor_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def send_status(
    base_url: str,
    consumer_key: str,
    p12: str,
    password: str,
    idempotency_key: str | None,
    vendor_id: str,
    file: Path,
) -> None:
    """Send a status update as a vendor would, signed with Mastercard's own client library."""
    import requests
    from oauth1.authenticationutils import load_signing_key

    from tfs.cli.vendor_client import post_signed

    try:
        load_signing_key(p12, password)
    except ValueError:
        _fail(f"cannot open {p12}: wrong password or not a PKCS#12 file", EXIT_USAGE)
    url = f"{base_url.rstrip('/')}/vendors/{vendor_id}/orders/status"
    try:
        status, text = post_signed(
            url, file.read_bytes(), consumer_key, p12, password, idempotency_key
        )
    except requests.ConnectionError:
        _fail(f"could not connect to {url}", EXIT_REFUSED)
    except requests.RequestException as exc:
        _fail(f"request to {url} failed: {exc}", EXIT_REFUSED)
    click.echo(f"HTTP {status}")
    click.echo(text)
    if status >= 400:
        sys.exit(EXIT_REFUSED)


@main.command()
@click.option(
    "--out", default="var/demo", show_default=True, type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--url", "base_url", default="http://127.0.0.1:8000", show_default=True)
@pass_ctx
def demo(ctx: Context, out: Path, base_url: str) -> None:
    """Set up a demo vendor `carltonone` with a key, placed orders and an update to send."""
    from tfs.cli.demo import set_up

    if ctx.settings.is_production:
        _fail("demo data is refused when TFS_ENV=production", EXIT_CONFIG)
    click.echo(
        set_up(ctx.store, out, base_url.rstrip("/") + ctx.settings.base_path, _register_demo(ctx))
    )


def _register_demo(ctx: Context) -> Any:
    def register(consumer_key: str, vendor: str, pem: str) -> None:
        _register(ctx, consumer_key, "vendor", vendor, pem, is_demo=True)

    return register


from tfs.bench.command import bench  # noqa: E402

main.add_command(bench)
