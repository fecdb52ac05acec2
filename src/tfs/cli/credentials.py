"""`tfs credentials`: consumer keys and their public keys, for vendors, program customers and
the platform."""

from __future__ import annotations

from pathlib import Path

import click

from tfs import clock
from tfs.access import credentials as creds
from tfs.access import usecases as access
from tfs.access.repository import Credential
from tfs.cli.context import EXIT_REFUSED, EXIT_USAGE, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.cli.request import Signer, write_credential
from tfs.errors import ConfigurationError, TfsError


@click.group()
def credentials() -> None:
    """Consumer keys and the public keys that verify their signatures."""


def _role(
    vendor: str | None, platform: bool, customer: bool, programs: tuple[int, ...]
) -> tuple[str, str | None]:
    if [bool(vendor), platform, customer].count(True) != 1:
        _fail("give exactly one of --vendor V, --customer or --platform", EXIT_USAGE)
    if customer != bool(programs):
        _fail("a customer credential needs --program ID (repeatable), and only it", EXIT_USAGE)
    if platform:
        return "platform", None
    return ("customer", None) if customer else ("vendor", vendor)


def register(
    ctx: Context,
    consumer_key: str,
    role: str,
    vendor: str | None,
    pem: str,
    is_demo: bool = False,
    programs: tuple[int, ...] = (),
) -> None:
    try:
        added = access.add_credential(
            ctx.store,
            Credential(
                consumer_key,
                role,
                vendor,
                pem,
                creds.fingerprint(pem),
                False,
                is_demo,
                clock.now(),
                frozenset(programs),
            ),
        )
    except TfsError as exc:
        _fail(exc.description, EXIT_REFUSED)
    if not added:
        _fail(f"consumer key {consumer_key} is already registered", EXIT_REFUSED)


_PROGRAM = click.IntRange(1, 2**63 - 1)


@credentials.command("add")
@click.option("--vendor", default=None)
@click.option("--customer", is_flag=True, help="A program customer: reads catalogs.")
@click.option("--program", "programs", multiple=True, type=_PROGRAM, help="With --customer.")
@click.option("--platform", is_flag=True)
@click.option("--certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consumer-key", default=None, help="Keep a key issued elsewhere.")
@pass_ctx
def credentials_add(
    ctx: Context,
    vendor: str | None,
    customer: bool,
    programs: tuple[int, ...],
    platform: bool,
    certificate: Path | None,
    public_key: Path | None,
    consumer_key: str | None,
) -> None:
    """Register a client's certificate or public key; prints the consumer key."""
    role, vendor_id = _role(vendor, platform, customer, programs)
    source = certificate or public_key
    if source is None or (certificate and public_key):
        _fail("give exactly one of --certificate FILE or --public-key FILE", EXIT_USAGE)
    try:
        pem = creds.public_key_pem_from(source.read_bytes())
    except ConfigurationError as exc:
        _fail(str(exc), EXIT_USAGE)
    key = consumer_key or creds.new_consumer_key()
    register(ctx, key, role, vendor_id, pem, programs=programs)
    click.echo(key)


@credentials.command("create")
@click.option("--vendor", default=None)
@click.option("--customer", is_flag=True, help="A program customer: reads catalogs.")
@click.option("--program", "programs", multiple=True, type=_PROGRAM, help="With --customer.")
@click.option("--platform", is_flag=True)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def credentials_create(
    ctx: Context,
    vendor: str | None,
    customer: bool,
    programs: tuple[int, ...],
    platform: bool,
    out: Path,
) -> None:
    """Make a key pair and PKCS#12 file as Mastercard's portal does, and register it."""
    role, vendor_id = _role(vendor, platform, customer, programs)
    if vendor_id is not None and not access.vendor_exists(ctx.store, vendor_id):
        _fail(f"vendor {vendor_id} does not exist: add it with `tfs vendors add`", EXIT_REFUSED)
    label = vendor_id or ("customer" if customer else "platform")
    issued = creds.issue(out, label)
    try:
        register(
            ctx, issued.consumer_key, role, vendor_id, issued.public_key_pem, programs=programs
        )
    except SystemExit:
        issued.p12_path.unlink(missing_ok=True)  # a key nobody can use is not left behind
        raise
    saved = issued.p12_path.with_suffix(".json")
    who: dict[str, object] = {"role": role}
    if vendor_id is not None:
        who["vendorId"] = vendor_id
    if programs:
        who["programs"] = sorted(programs)
    write_credential(
        saved, Signer(issued.consumer_key, str(issued.p12_path), issued.password), **who
    )
    click.echo(f"consumer key: {issued.consumer_key}")
    click.echo(f"p12 file:     {issued.p12_path}")
    click.echo(f"password:     {issued.password}")
    click.echo(f"credential:   {saved}   (for --credential, or TFS_CREDENTIAL)")


@credentials.command("list")
@pass_ctx
def credentials_list(ctx: Context) -> None:
    found = access.list_credentials(ctx.store)
    if not found:
        click.echo("no credentials yet: make one with `tfs credentials create … --out DIR`")
    for c in found:
        state = "revoked" if c.revoked else "active"
        who = c.vendor_id or ",".join(map(str, sorted(c.programs))) or "-"
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


COMMANDS = (credentials,)
