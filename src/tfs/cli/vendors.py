"""`tfs vendors`: the vendors that fulfil orders."""

from __future__ import annotations

import click

from tfs import clock
from tfs.access import usecases as access
from tfs.cli.context import EXIT_USAGE, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.fields import printable


@click.group()
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
    found = access.list_vendors(ctx.store)
    if not found:
        click.echo("no vendors yet: add one with `tfs vendors add VENDOR_ID`")
    for vendor_id, name in found:
        click.echo(f"{vendor_id}\t{name or ''}")


COMMANDS = (vendors,)
