"""`tfs send-status`: send a status update as a vendor would, signed with Mastercard's client."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click

from tfs.cli.context import EXIT_FAILED
from tfs.cli.request import credential_options, exit_for, send, show, signer_of


def summary(status: int, body: Any) -> tuple[str, bool]:
    """One line for stderr ("2 applied, 1 failed: 1003 ×1"), and whether an order FAILED."""
    if status >= 400:
        errors = body.get("Errors", {}).get("Error", []) if isinstance(body, dict) else []
        first = errors[0] if errors else {}
        why = f"{first.get('ReasonCode', '')}: {first.get('Description', '')}" if first else ""
        return f"refused: HTTP {status} {why}".rstrip(), False
    orders = body if isinstance(body, list) else []
    failed = Counter(str(o.get("errorCode")) for o in orders if o.get("status") == "FAILED")
    line = f"{len(orders) - sum(failed.values())} applied, {sum(failed.values())} failed"
    if failed:
        line += ": " + ", ".join(f"{code} ×{n}" for code, n in sorted(failed.items()))
    return line, bool(failed)


@click.command("send-status")
@click.option("--url", "base_url", required=True, help="e.g. http://127.0.0.1:8000/loyalty/rewards")
@credential_options
@click.option("--idempotency-key", default=None)
@click.option("--allow-failed", is_flag=True, help="Exit 0 even when an order FAILED.")
@click.argument("vendor_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def send_status(
    base_url: str,
    credential: Path | None,
    consumer_key: str | None,
    p12: str | None,
    password: str | None,
    idempotency_key: str | None,
    allow_failed: bool,
    vendor_id: str,
    file: Path,
) -> None:
    """Send a status update as a vendor would, signed with Mastercard's own client library.

    Prints the answer on stdout and a one-line summary on stderr. Exits 0 when every order was
    applied, 1 when one FAILED (0 with --allow-failed), 2 on a usage fault, 3 when the service
    refused the request (4xx), 4 when it could not be reached or answered 5xx.
    """
    signer = signer_of(credential, consumer_key, p12, password)
    url = f"{base_url.rstrip('/')}/vendors/{vendor_id}/orders/status"
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    response = send(signer, "POST", url, file.read_bytes(), headers)
    show(response)
    try:
        body = response.json()
    except ValueError:
        body = None
    line, failed = summary(response.status_code, body)
    click.echo(line, err=True)
    exit_for(response.status_code)
    if failed and not allow_failed:
        sys.exit(EXIT_FAILED)


COMMANDS = (send_status,)
