"""`tfs request`: any request, signed with Mastercard's own client library, and its answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tfs.cli.context import EXIT_REFUSED, EXIT_USAGE
from tfs.cli.context import fail as _fail

SHOWN_HEADERS = ("X-Correlation-ID", "Idempotent-Replayed", "Retry-After", "ETag")


def load_credential(path: Path) -> tuple[str, str, str]:
    """The consumer key, .p12 path and password of a credential file (as `tfs demo` writes
    them: {"consumerKey", "p12", "password"}; a relative .p12 path is taken from the file's
    folder when it is not found from here)."""
    try:
        data = json.loads(path.read_text())
        key, p12, password = data["consumerKey"], data["p12"], data["password"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"{path} is not a credential file (consumerKey, p12, password): {exc}", EXIT_USAGE)
    if not Path(p12).exists() and (path.parent / Path(p12).name).exists():
        p12 = str(path.parent / Path(p12).name)
    return key, p12, password


@click.command("request")
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "DELETE"], case_sensitive=False))
@click.argument("url")
@click.option("--credential", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--consumer-key", default=None)
@click.option("--p12", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--password", default=None)
@click.option("--data", "data_file", default=None, help="A file to send as the body, - for stdin.")
@click.option("--header", "headers", multiple=True, help="K:V, repeatable.")
def request(
    method: str,
    url: str,
    credential: Path | None,
    consumer_key: str | None,
    p12: str | None,
    password: str | None,
    data_file: str | None,
    headers: tuple[str, ...],
) -> None:
    """Send METHOD URL signed as a credential; print the status, key headers and the body."""
    import requests
    from oauth1.authenticationutils import load_signing_key
    from oauth1.oauth_ext import OAuth1RSA

    if credential is not None:
        consumer_key, p12, password = load_credential(credential)
    if not (consumer_key and p12 and password is not None):
        _fail("give --credential FILE, or --consumer-key, --p12 and --password", EXIT_USAGE)
    try:
        key = load_signing_key(p12, password)
    except ValueError:
        _fail(f"cannot open {p12}: wrong password or not a PKCS#12 file", EXIT_USAGE)
    body = None
    if data_file is not None:
        body = sys.stdin.buffer.read() if data_file == "-" else Path(data_file).read_bytes()
    sent = {"Content-Type": "application/json"} if body is not None else {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep:
            _fail(f"--header {header!r} is not K:V", EXIT_USAGE)
        sent[name.strip()] = value.strip()
    try:
        response = requests.request(
            method.upper(),
            url,
            data=body,
            headers=sent,
            auth=OAuth1RSA(consumer_key, key),
            timeout=30,
        )
    except requests.RequestException as exc:
        _fail(f"request to {url} failed: {exc}", EXIT_REFUSED)
    click.echo(f"HTTP {response.status_code}")
    for name in SHOWN_HEADERS:
        if name in response.headers:
            click.echo(f"{name}: {response.headers[name]}")
    text = response.text
    if sys.stdout.isatty() and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
        text = json.dumps(response.json(), indent=2, ensure_ascii=False)
    click.echo(text)
    if response.status_code >= 400:
        sys.exit(EXIT_REFUSED)


COMMANDS = (request,)
