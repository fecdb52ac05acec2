"""The `tfs` command: serve, migrate, onboard vendors and keys, place orders, act as a vendor.

One module per noun; each gives its commands in COMMANDS. The exit codes are one table, in
tfs.cli.context. A command's module is imported only when that command runs, so that `tfs
--help` and the commands that need no database start without importing the service.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> (module, one-line help shown by `tfs --help`)
LAZY: dict[str, tuple[str, str]] = {
    "serve": ("tfs.cli.serve", "Run the service."),
    "db": ("tfs.cli.serve", "Database migrations."),
    "vendors": ("tfs.cli.vendors", "Vendors that fulfil orders."),
    "credentials": ("tfs.cli.credentials", "Consumer keys and the keys that verify them."),
    "orders": ("tfs.cli.orders", "Place orders with vendors (the platform's side)."),
    "send-status": ("tfs.cli.send_status", "Send a status update as a vendor would."),
    "request": ("tfs.cli.request", "Send any request, signed; print the answer."),
    "catalog": ("tfs.cli.catalog", "Import and export programs' reward catalogs."),
    "programs": ("tfs.cli.catalog", "Programs that have a catalog."),
    "webhooks": ("tfs.cli.events", "Webhook subscriptions of the platform."),
    "events": ("tfs.cli.events", "Events and their deliveries; replay."),
    "relay": ("tfs.cli.events", "Run the event relay on its own."),
    "operators": ("tfs.cli.operators", "Operators who sign in to the console."),
    "demo": ("tfs.cli.demo", "Set up demo data: a vendor, keys, orders, a catalog."),
    "bench": ("tfs.bench.command", "The benchmark (docs/performance.md)."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in LAZY:
            return None
        module = importlib.import_module(LAZY[cmd_name][0])
        commands: tuple[click.Command, ...] = module.COMMANDS
        return next((c for c in commands if c.name == cmd_name), None)

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, LAZY[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup)
def main() -> None:
    """Traditional Fulfillment Service."""
