"""The `tfs` command: serve, migrate, onboard vendors and keys, place orders, act as a vendor.

One module per noun; each gives its commands in COMMANDS. The exit codes are one table, in
tfs.cli.context.
"""

from __future__ import annotations

import click

from tfs.cli import (
    catalog,
    credentials,
    demo,
    events,
    orders,
    request,
    send_status,
    serve,
    vendors,
)


@click.group()
def main() -> None:
    """Traditional Fulfillment Service."""


for _module in (serve, vendors, credentials, orders, send_status, request, events, catalog, demo):
    for _command in _module.COMMANDS:
        main.add_command(_command)

from tfs.bench.command import bench  # noqa: E402 - the benchmark imports the service's parts

main.add_command(bench)
