"""`tfs request`: any request, signed with Mastercard's own client library, and its answer; the
credential files that `--credential` (and TFS_CREDENTIAL) name."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tfs.cli.context import EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE
from tfs.cli.context import fail as _fail

if TYPE_CHECKING:
    import requests

SHOWN_HEADERS = ("X-Correlation-ID", "Idempotent-Replayed", "Retry-After", "ETag")
CREDENTIAL_ENV = "TFS_CREDENTIAL"


@dataclass(frozen=True)
class Signer:
    consumer_key: str
    p12: str
    password: str


def write_credential(path: Path, signer: Signer, **who: Any) -> None:
    """A credential file: the consumer key, who it is (role, vendor or programs), the .p12 file
    and its password. Kept private (0600): it holds the password."""
    data = {
        "consumerKey": signer.consumer_key,
        **who,
        "p12": signer.p12,
        "password": signer.password,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.chmod(0o600)


def load_credential(path: Path) -> Signer:
    """A credential file as `tfs credentials create` and `tfs demo` write them; a .p12 path
    that is not found from here is looked for beside the file."""
    try:
        data = json.loads(path.read_text())
        signer = Signer(data["consumerKey"], data["p12"], data["password"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _fail(f"{path} is not a credential file (consumerKey, p12, password): {exc}", EXIT_USAGE)
    if not Path(signer.p12).exists() and (path.parent / Path(signer.p12).name).exists():
        signer = Signer(
            signer.consumer_key, str(path.parent / Path(signer.p12).name), signer.password
        )
    return signer


def signer_of(
    credential: Path | None, consumer_key: str | None, p12: str | None, password: str | None
) -> Signer:
    """Who signs: --credential FILE, else the three flags, else the file TFS_CREDENTIAL names."""
    if credential is not None:
        return load_credential(credential)
    if consumer_key or p12 or password is not None:
        if not (consumer_key and p12 and password is not None):
            _fail("give --consumer-key, --p12 and --password together", EXIT_USAGE)
        return Signer(consumer_key, p12, password)
    if os.environ.get(CREDENTIAL_ENV):
        return load_credential(Path(os.environ[CREDENTIAL_ENV]))
    _fail(
        f"give --credential FILE (or set {CREDENTIAL_ENV}), or --consumer-key, --p12 and"
        " --password; `tfs credentials create … --out DIR` writes such a file",
        EXIT_USAGE,
    )


def prepare(
    signer: Signer, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> requests.PreparedRequest:
    """The request signed as Mastercard's client signs it; exits 2 on a bad key."""
    import requests
    from oauth1.authenticationutils import load_signing_key
    from oauth1.oauth_ext import OAuth1RSA

    try:
        key = load_signing_key(signer.p12, signer.password)
    except (ValueError, OSError):
        _fail(f"cannot open {signer.p12}: wrong password or not a PKCS#12 file", EXIT_USAGE)
    sent = {"Content-Type": "application/json"} if body is not None else {}
    sent.update(headers)
    signed = requests.Request(
        method, url, data=body, headers=sent, auth=OAuth1RSA(signer.consumer_key, key)
    )
    return signed.prepare()


def send(
    signer: Signer, method: str, url: str, body: bytes | None, headers: dict[str, str]
) -> requests.Response:
    """The request signed and sent; exits 2 on a bad key, 4 when the service cannot be
    reached."""
    import requests

    prepared = prepare(signer, method, url, body, headers)
    try:
        with requests.Session() as session:
            return session.send(prepared, timeout=30)
    except requests.ConnectionError:
        _fail(f"could not connect to {url}: is the service running?", EXIT_UNAVAILABLE)
    except requests.RequestException as exc:
        _fail(f"request to {url} failed: {exc}", EXIT_UNAVAILABLE)


def curl(prepared: requests.PreparedRequest, body_file: str | None) -> str:
    """A curl command that sends exactly this signed request: the body from its file (byte for
    byte, as the body hash needs), or inline when it came from stdin."""
    args = ["curl", "-sS", "-i", "-X", str(prepared.method), str(prepared.url)]
    for name, value in prepared.headers.items():
        if name.lower() not in ("content-length", "user-agent", "accept", "accept-encoding"):
            args += ["-H", f"{name}: {value}"]
    body = prepared.body
    if body:
        raw = body if isinstance(body, bytes) else body.encode()
        args += ["--data-binary", f"@{body_file}" if body_file else raw.decode()]
    return shlex.join(args)


def show(response: requests.Response) -> None:
    """The status line, the headers worth seeing, then the body (pretty on a terminal)."""
    click.echo(f"HTTP {response.status_code}")
    for name in SHOWN_HEADERS:
        if name in response.headers:
            click.echo(f"{name}: {response.headers[name]}")
    text = response.text
    is_json = response.headers.get("content-type", "").startswith("application/json")
    if sys.stdout.isatty() and is_json and text:
        text = json.dumps(response.json(), indent=2, ensure_ascii=False)
    click.echo(text)


def exit_for(status: int) -> None:
    if status >= 500:
        sys.exit(EXIT_UNAVAILABLE)
    if status >= 400:
        sys.exit(EXIT_REFUSED)


def credential_options(command: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "--credential",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help=f"A credential file (tfs credentials create writes one); or {CREDENTIAL_ENV}.",
            ),
            click.option("--consumer-key", default=None),
            click.option("--p12", default=None, type=click.Path(exists=True, dir_okay=False)),
            click.option("--password", default=None),
        )
    ):
        command = option(command)
    return command


@click.command("request")
@click.argument("method", type=click.Choice(["GET", "POST", "PUT", "DELETE"], case_sensitive=False))
@click.argument("url")
@credential_options
@click.option("--data", "data_file", default=None, help="A file to send as the body, - for stdin.")
@click.option("--header", "headers", multiple=True, help="K:V, repeatable.")
@click.option(
    "--print-curl",
    is_flag=True,
    help="Print a ready curl command (signed, good once, within the timestamp window) and send"
    " nothing.",
)
def request(
    method: str,
    url: str,
    credential: Path | None,
    consumer_key: str | None,
    p12: str | None,
    password: str | None,
    data_file: str | None,
    headers: tuple[str, ...],
    print_curl: bool,
) -> None:
    """Send METHOD URL signed as a credential; print the status, key headers and the body.
    Exits 3 on a 4xx, 4 on a 5xx or when the service cannot be reached."""
    signer = signer_of(credential, consumer_key, p12, password)
    body = None
    if data_file is not None:
        body = sys.stdin.buffer.read() if data_file == "-" else Path(data_file).read_bytes()
    extra: dict[str, str] = {}
    for header in headers:
        name, sep, value = header.partition(":")
        if not sep:
            _fail(f"--header {header!r} is not K:V", EXIT_USAGE)
        extra[name.strip()] = value.strip()
    if print_curl:
        if body is not None and data_file == "-":
            try:
                body.decode()
            except UnicodeDecodeError:
                _fail("--print-curl needs a --data FILE for a body that is not text", EXIT_USAGE)
        prepared = prepare(signer, method.upper(), url, body, extra)
        click.echo(curl(prepared, None if data_file == "-" else data_file))
        click.echo(
            "(the signature holds a nonce and a timestamp: the command works once, within the"
            " service's timestamp window)",
            err=True,
        )
        return
    response = send(signer, method.upper(), url, body, extra)
    show(response)
    exit_for(response.status_code)


COMMANDS = (request,)
