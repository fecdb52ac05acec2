"""`tfs orders`: place orders from a file, in batches, as the platform does."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from tfs import clock
from tfs.cli.context import EXIT_FAILED, EXIT_REFUSED, EXIT_USAGE, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.errors import TfsError, ValidationFailed
from tfs.orders import usecases
from tfs.orders.placement import parse_placements


@click.group()
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
    failed (a conflict, an unknown vendor); the others are placed all the same.
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
        sys.exit(EXIT_FAILED)


def _rate(done: int, started: float) -> str:
    elapsed = time.monotonic() - started
    return f"{elapsed:.1f} s, {done / elapsed if elapsed else 0:,.0f} orders/s"


COMMANDS = (orders,)
