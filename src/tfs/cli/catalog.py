"""`tfs catalog` and `tfs programs`: programs' reward catalogs, imported and exported whole."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import msgspec

from tfs import clock, limits
from tfs.catalog import document
from tfs.catalog import usecases as catalog_usecases
from tfs.cli.context import EXIT_REFUSED, EXIT_USAGE, Context, pass_ctx
from tfs.cli.context import fail as _fail


@click.group()
def catalog() -> None:
    """Programs' reward catalogs: one JSON document per program (docs/catalog.md)."""


@catalog.command("import")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@pass_ctx
def catalog_import(ctx: Context, file: Path) -> None:
    """Replace a program's catalog with the document in FILE (- for standard input)."""
    raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    if len(raw) > limits.MAX_CATALOG_DOCUMENT_BYTES:
        _fail(f"the document is larger than {limits.MAX_CATALOG_DOCUMENT_BYTES} bytes", EXIT_USAGE)
    try:
        data = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        _fail(f"{file} is not JSON: {exc}", EXIT_USAGE)
    parsed, faults = document.parse(data)
    if parsed is None:
        for fault in faults:
            click.echo(f"  {fault.description}", err=True)
        _fail(f"the catalog document has faults ({len(faults)} shown); nothing changed", EXIT_USAGE)
    done = catalog_usecases.import_catalog(ctx.store, parsed, clock.now())
    state = "imported" if done.changed else "unchanged (the same document)"
    click.echo(
        f"program {done.program_id}: version {done.version}, {done.catalogs} catalogs,"
        f" {done.items} reward items, {state}"
    )


@catalog.command("export")
@click.argument("program_id", type=click.IntRange(1, 2**63 - 1))
@pass_ctx
def catalog_export(ctx: Context, program_id: int) -> None:
    """Print a program's catalog document (importing it again changes nothing)."""
    body = catalog_usecases.export_catalog(ctx.store, program_id)
    if body is None:
        _fail(
            f"program {program_id} has no catalog: import one with `tfs catalog import`",
            EXIT_REFUSED,
        )
    click.echo(body.decode())


@click.group()
def programs() -> None:
    """Programs that have a catalog."""


@programs.command("list")
@pass_ctx
def programs_list(ctx: Context) -> None:
    heads = catalog_usecases.list_programs(ctx.store)
    if not heads:
        click.echo("no program has a catalog yet: import one with `tfs catalog import FILE`")
    for h in heads:
        click.echo(
            f"{h.program_id}\tversion {h.version}\t{h.catalogs} catalogs\t{h.items} items"
            f"\t{','.join(h.languages)}\t{h.imported_at.isoformat(timespec='seconds')}"
        )


COMMANDS = (catalog, programs)
