"""`tfs send-status`: send a status update as a vendor would, signed with Mastercard's client."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tfs.cli.context import EXIT_REFUSED, EXIT_USAGE
from tfs.cli.context import fail as _fail


@click.command("send-status")
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


COMMANDS = (send_status,)
