"""The `tfs` command, run in-process through click's CliRunner against the test database, and
signing with what it hands out against the live server."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from oauth1.authenticationutils import load_signing_key

from conftest import Client, LiveServer, private_key, public_pem
from tfs.cli import main
from tfs.db.store import Store
from tfs.orders.repository import Orders

Tfs = Callable[..., Result]


@pytest.fixture
def tfs(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Tfs:
    """Run `tfs ARGS...` on the test database, asserting its exit code."""
    monkeypatch.setenv("TFS_DATABASE_URL", database_url)
    monkeypatch.delenv("TFS_ENV", raising=False)
    monkeypatch.delenv("TFS_BASE_PATH", raising=False)
    runner = CliRunner()

    def run(*args: str | Path, code: int = 0) -> Result:
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        if result.exit_code != 0:
            # Every failure is a message and an exit code, never a Python traceback.
            assert isinstance(result.exception, SystemExit), result.exc_info
            assert "Traceback" not in result.output
        return result

    return run


def new_vendor(tfs: Tfs, name: str | None = None) -> str:
    vendor_id = f"cli-{uuid.uuid4().hex[:10]}"
    tfs("vendors", "add", vendor_id, *(["--name", name] if name else []))
    return vendor_id


@pytest.fixture
def vendor_id(tfs: Tfs) -> str:
    return new_vendor(tfs)


def created(result: Result) -> tuple[str, Path, str]:
    """Consumer key, p12 path and password from `credentials create`'s output."""
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    return (
        fields["consumer key"].strip(),
        Path(fields["p12 file"].strip()),
        fields["password"].strip(),
    )


def placement(vendor_id: str, mc_order_id: str | None = None, items: int = 1) -> dict[str, Any]:
    mc_order_id = mc_order_id or str(uuid.uuid4())
    return {
        "mcOrderId": mc_order_id,
        "vendorId": vendor_id,
        "items": [
            {"mcId": f"{mc_order_id[:8]}-{n}", "description": "Gift card"} for n in range(items)
        ],
    }


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def credential_lines(tfs: Tfs) -> dict[str, list[str]]:
    return {
        line.split("\t")[0]: line.split("\t")
        for line in tfs("credentials", "list").stdout.splitlines()
    }


def certificate_pem(key: rsa.RSAPrivateKey, not_before: datetime, not_after: datetime) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a vendor")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


# --- db, vendors -------------------------------------------------------------------------------


def test_db_upgrade_brings_the_database_to_the_latest_migration(tfs: Tfs) -> None:
    assert "latest migration" in tfs("db", "upgrade").stdout
    assert "latest migration" in tfs("db", "upgrade").stdout  # idempotent


def test_adding_a_vendor_twice_is_harmless(tfs: Tfs) -> None:
    vendor_id = f"cli-{uuid.uuid4().hex[:10]}"
    assert tfs("vendors", "add", vendor_id).stdout.strip() == f"vendor {vendor_id} added"
    again = tfs("vendors", "add", vendor_id)
    assert again.stdout.strip() == f"vendor {vendor_id} already exists"


@pytest.mark.parametrize("bad", ["", "a/b", "x" * 65, "tab\there", "new\nline"])
def test_vendor_ids_that_cannot_be_in_a_url_are_refused_with_exit_2(tfs: Tfs, bad: str) -> None:
    result = tfs("vendors", "add", bad, code=2)
    assert "VENDOR_ID must be" in result.stderr
    assert bad == "" or bad not in tfs("vendors", "list").stdout.splitlines()


def test_vendors_list_shows_each_vendor_with_its_name(tfs: Tfs) -> None:
    named = new_vendor(tfs, name="Carlton One Engagement")
    unnamed = new_vendor(tfs)
    lines = tfs("vendors", "list").stdout.splitlines()
    assert f"{named}\tCarlton One Engagement" in lines
    assert f"{unnamed}\t" in lines


# --- credentials create / list / revoke --------------------------------------------------------


def test_created_p12_signs_requests_the_live_server_accepts(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    result = tfs("credentials", "create", "--vendor", vendor_id, "--out", tmp_path / "keys")
    consumer_key, p12, password = created(result)
    assert p12.is_file() and p12.parent == tmp_path / "keys"
    assert password and consumer_key
    key = load_signing_key(str(p12), password)
    client = Client(server.url, consumer_key, key, vendor_id)
    response = client.get_status()
    assert response.status_code == 200, response.text
    assert response.json()["orders"] == []


def test_credentials_list_shows_role_vendor_and_state(
    tfs: Tfs, vendor_id: str, tmp_path: Path
) -> None:
    consumer_key, _, _ = created(
        tfs("credentials", "create", "--vendor", vendor_id, "--out", tmp_path)
    )
    line = credential_lines(tfs)[consumer_key]
    assert line[1:4] == ["vendor", vendor_id, "active"]
    assert len(line[4]) == 16  # fingerprint prefix


def test_revoked_credential_is_refused_by_the_live_server(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    consumer_key, p12, password = created(
        tfs("credentials", "create", "--vendor", vendor_id, "--out", tmp_path)
    )
    client = Client(server.url, consumer_key, load_signing_key(str(p12), password), vendor_id)
    assert client.get_status().status_code == 200
    assert tfs("credentials", "revoke", consumer_key).stdout.strip() == "revoked"
    assert credential_lines(tfs)[consumer_key][3] == "revoked"
    response = client.get_status()
    assert response.status_code == 401
    assert response.json()["Errors"]["Error"][0]["ReasonCode"] == "AUTHENTICATION_FAILED"


def test_revoking_an_unknown_consumer_key_exits_3(tfs: Tfs) -> None:
    result = tfs("credentials", "revoke", "no-such-key", code=3)
    assert "no such consumer key" in result.stderr


def test_credentials_create_for_the_platform_reads_any_order(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    order = placement(vendor_id)
    tfs("orders", "place", write_json(tmp_path / "order.json", order))
    consumer_key, p12, password = created(
        tfs("credentials", "create", "--platform", "--out", tmp_path / "keys")
    )
    assert credential_lines(tfs)[consumer_key][1:4] == ["platform", "-", "active"]
    platform = Client(server.url, consumer_key, load_signing_key(str(p12), password))
    response = platform.request("GET", f"/orders/{order['mcOrderId']}")
    assert response.status_code == 200, response.text
    assert response.json()["vendorId"] == vendor_id


def test_credentials_create_for_an_unknown_vendor_exits_3(tfs: Tfs, tmp_path: Path) -> None:
    result = tfs("credentials", "create", "--vendor", "nobody-here", "--out", tmp_path, code=3)
    assert "nobody-here" in result.stderr
    assert list(tmp_path.glob("*.p12")) == []  # no key is left behind that nobody can use


# --- credentials add ---------------------------------------------------------------------------


def test_expired_certificate_is_accepted_and_its_key_signs(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    key = private_key(2)
    now = datetime.now(UTC)
    cert = tmp_path / "expired.pem"
    cert.write_bytes(certificate_pem(key, now - timedelta(days=1000), now - timedelta(days=300)))
    result = tfs("credentials", "add", "--vendor", vendor_id, "--certificate", cert)
    consumer_key = result.stdout.strip()
    assert credential_lines(tfs)[consumer_key][1:4] == ["vendor", vendor_id, "active"]
    response = Client(server.url, consumer_key, key, vendor_id).get_status()
    assert response.status_code == 200, response.text


def test_public_key_is_registered_under_the_consumer_key_given(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    key = private_key(3)
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(key))
    given = f"issued-elsewhere-{uuid.uuid4().hex}"
    result = tfs(
        "credentials", "add", "--vendor", vendor_id, "--public-key", pem, "--consumer-key", given
    )
    assert result.stdout.strip() == given
    assert Client(server.url, given, key, vendor_id).get_status().status_code == 200


def test_platform_public_key_is_registered_with_the_platform_role(
    tfs: Tfs, tmp_path: Path, server: LiveServer
) -> None:
    key = private_key(3)
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(key))
    consumer_key = tfs("credentials", "add", "--platform", "--public-key", pem).stdout.strip()
    assert credential_lines(tfs)[consumer_key][1:3] == ["platform", "-"]
    response = Client(server.url, consumer_key, key).request("GET", "/orders/not-placed")
    assert response.status_code == 404  # authenticated as the platform; no such order


def test_registering_a_consumer_key_twice_exits_3(tfs: Tfs, vendor_id: str, tmp_path: Path) -> None:
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(private_key(3)))
    given = f"twice-{uuid.uuid4().hex}"
    args = ("credentials", "add", "--vendor", vendor_id, "--public-key", pem)
    tfs(*args, "--consumer-key", given)
    result = tfs(*args, "--consumer-key", given, code=3)
    assert given in result.stderr or "already" in result.stderr


@pytest.mark.parametrize(
    "who",
    [
        pytest.param([], id="neither-vendor-nor-platform"),
        pytest.param(["--vendor", "{vendor}", "--platform"], id="both-vendor-and-platform"),
        pytest.param(["--customer", "--program", "1", "--platform"], id="customer-and-platform"),
        pytest.param(["--customer"], id="customer-without-program"),
        pytest.param(["--vendor", "{vendor}", "--program", "1"], id="program-without-customer"),
    ],
)
def test_credentials_need_exactly_one_role(
    tfs: Tfs, vendor_id: str, tmp_path: Path, who: list[str]
) -> None:
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(private_key(3)))
    who = [w.format(vendor=vendor_id) for w in who]
    add = tfs("credentials", "add", *who, "--public-key", pem, code=2)
    create = tfs("credentials", "create", *who, "--out", tmp_path / "keys", code=2)
    for result in (add, create):
        assert (
            "exactly one of --vendor V, --customer or --platform" in result.stderr
            or "a customer credential needs --program ID" in result.stderr
        )
    assert not (tmp_path / "keys").exists()


def test_a_customer_credential_reads_the_catalogs_of_its_programs(
    tfs: Tfs, tmp_path: Path, server: LiveServer
) -> None:
    created = tfs(
        "credentials", "create", "--customer", "--program", "49631", "--program", "7",
        "--out", tmp_path / "keys",
    )  # fmt: skip
    lines = dict(line.split(": ", 1) for line in created.stdout.splitlines())
    key = lines["consumer key"].strip()
    assert credential_lines(tfs)[key][1:3] == ["customer", "7,49631"]
    p12, password = lines["p12 file"].strip(), lines["password"].strip()
    for program, code in (("49631", 0), ("7", 0), ("8", 3)):
        url = f"{server.url}/catalogs?program_id={program}"
        read = tfs(
            "request", "GET", url, "--consumer-key", key, "--p12", p12, "--password", password,
            code=code,
        )  # fmt: skip
        assert read.stdout.startswith("HTTP 200" if code == 0 else "HTTP 401")


def test_credentials_add_needs_exactly_one_of_certificate_or_public_key(
    tfs: Tfs, vendor_id: str, tmp_path: Path
) -> None:
    key = private_key(3)
    pem = tmp_path / "public.pem"
    pem.write_text(public_pem(key))
    now = datetime.now(UTC)
    cert = tmp_path / "cert.pem"
    cert.write_bytes(certificate_pem(key, now - timedelta(days=1), now + timedelta(days=1)))
    before = credential_lines(tfs)
    neither = tfs("credentials", "add", "--vendor", vendor_id, code=2)
    both = tfs(
        "credentials", "add", "--vendor", vendor_id, "--certificate", cert, "--public-key", pem,
        code=2,
    )  # fmt: skip
    for result in (neither, both):
        assert "exactly one of --certificate FILE or --public-key FILE" in result.stderr
    assert credential_lines(tfs) == before


def test_keys_that_cannot_sign_mastercard_requests_are_refused_with_exit_2(
    tfs: Tfs, vendor_id: str, tmp_path: Path
) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    curve = ec.generate_private_key(ec.SECP256R1())
    for name, content, message in [
        ("garbage.pem", b"not a key at all", "Not a PEM public key or X.509 certificate"),
        ("small.pem", public_pem(small).encode(), "at least 2048 bits"),
        (
            "ec.pem",
            curve.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "Only RSA keys",
        ),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        result = tfs("credentials", "add", "--vendor", vendor_id, "--public-key", path, code=2)
        assert message in result.stderr, name


# --- orders place ------------------------------------------------------------------------------


def test_placing_one_order_from_an_object(tfs: Tfs, vendor_id: str, tmp_path: Path) -> None:
    order = placement(vendor_id, items=2)
    result = tfs("orders", "place", write_json(tmp_path / "order.json", order))
    assert result.stdout.splitlines() == [f"{order['mcOrderId']}\tplaced"]


def test_placing_several_orders_from_an_array(tfs: Tfs, vendor_id: str, tmp_path: Path) -> None:
    orders = [placement(vendor_id) for _ in range(3)]
    result = tfs("orders", "place", write_json(tmp_path / "orders.json", orders))
    assert result.stdout.splitlines() == [f"{o['mcOrderId']}\tplaced" for o in orders]


def test_identical_repeat_is_reported_already_placed(
    tfs: Tfs, vendor_id: str, tmp_path: Path
) -> None:
    file = write_json(tmp_path / "order.json", placement(vendor_id))
    tfs("orders", "place", file)
    again = tfs("orders", "place", file)
    assert again.stdout.strip().endswith("\talready placed")


def test_conflicting_repeat_exits_1(tfs: Tfs, vendor_id: str, tmp_path: Path) -> None:
    order = placement(vendor_id)
    tfs("orders", "place", write_json(tmp_path / "order.json", order))
    conflicting = placement(vendor_id, order["mcOrderId"], items=2)
    result = tfs("orders", "place", write_json(tmp_path / "conflict.json", conflicting), code=1)
    assert order["mcOrderId"] in result.stderr


def test_order_for_an_unknown_vendor_exits_1(tfs: Tfs, tmp_path: Path) -> None:
    file = write_json(tmp_path / "order.json", placement("nobody-here"))
    tfs("orders", "place", file, code=1)


def test_invalid_order_files_exit_2(tfs: Tfs, vendor_id: str, tmp_path: Path) -> None:
    not_json = tmp_path / "bad.json"
    not_json.write_text("{not json")
    assert "not a readable JSON file" in tfs("orders", "place", not_json, code=2).stderr
    invalid = write_json(tmp_path / "invalid.json", [placement(vendor_id), {"vendorId": "x"}])
    result = tfs("orders", "place", invalid, code=2)
    assert "order 1:" in result.stderr


def test_a_large_file_is_placed_in_batches(
    tfs: Tfs, vendor_id: str, tmp_path: Path, store: Store
) -> None:
    orders = [placement(vendor_id, items=1 + n % 3) for n in range(3000)]
    result = tfs("orders", "place", write_json(tmp_path / "orders.json", orders))
    assert result.stdout.splitlines() == [f"{o['mcOrderId']}\tplaced" for o in orders]
    progress = [line for line in result.stderr.splitlines() if line.startswith("placed ")]
    assert [line.split()[1] for line in progress] == [f"{n}/3000" for n in range(500, 3001, 500)]
    assert "3000 placed, 0 already placed, 0 failed of 3000" in result.stderr
    with store.transaction(readonly=True) as uow:
        stored = Orders(uow).get_many([o["mcOrderId"] for o in orders], 20)
    assert len(stored) == 3000
    assert all(len(stored[o["mcOrderId"]].state.items) == len(o["items"]) for o in orders)


def test_failures_are_reported_and_the_rest_placed(
    tfs: Tfs, vendor_id: str, tmp_path: Path, store: Store
) -> None:
    placed = placement(vendor_id)
    tfs("orders", "place", write_json(tmp_path / "one.json", placed))
    conflicting = placement(vendor_id, placed["mcOrderId"], items=2)
    new = [placement(vendor_id) for _ in range(600)]
    file = write_json(tmp_path / "orders.json", [new[0], placed, conflicting, *new[1:]])
    result = tfs("orders", "place", file, code=1)
    assert f"order 2: {placed['mcOrderId']}: A different order" in result.stderr
    assert "600 placed, 1 already placed, 1 failed of 602" in result.stderr
    assert len(result.stdout.splitlines()) == 601
    with store.transaction(readonly=True) as uow:
        assert len(Orders(uow).get_many([o["mcOrderId"] for o in new], 20)) == 600


# --- send-status -------------------------------------------------------------------------------


def vendor_key(tfs: Tfs, vendor_id: str, out: Path) -> list[str]:
    """`--consumer-key K --p12 P --password W` for a new credential of this vendor."""
    consumer_key, p12, password = created(
        tfs("credentials", "create", "--vendor", vendor_id, "--out", out)
    )
    return ["--consumer-key", consumer_key, "--p12", str(p12), "--password", password]


def test_send_status_prints_http_200_and_the_stored_orders(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    order = placement(vendor_id)
    tfs("orders", "place", write_json(tmp_path / "order.json", order))
    update = write_json(
        tmp_path / "update.json",
        [{"mcOrderId": order["mcOrderId"], "status": "Shipped"}],
    )
    key = vendor_key(tfs, vendor_id, tmp_path / "keys")
    result = tfs("send-status", "--url", server.url, *key, vendor_id, update)
    status_line, correlation, body = result.stdout.split("\n", 2)
    assert status_line == "HTTP 200" and correlation.startswith("X-Correlation-ID: ")
    (stored,) = json.loads(body)
    assert stored["mcOrderId"] == order["mcOrderId"] and stored["status"] == "Shipped"
    assert [i["status"] for i in stored["orderItems"]] == ["Shipped"]


def test_send_status_refused_by_the_service_prints_the_error_and_exits_3(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    other = new_vendor(tfs)
    update = write_json(tmp_path / "update.json", [{"mcOrderId": "x", "status": "Shipped"}])
    key = vendor_key(tfs, vendor_id, tmp_path / "keys")
    result = tfs("send-status", "--url", server.url, *key, other, update, code=3)
    assert result.stdout.startswith("HTTP 401\n")
    assert answer_body(result)["Errors"]["Error"][0]["ReasonCode"] == ("INVALID_CLIENT_ID")


def test_send_status_with_a_wrong_password_exits_2_with_a_clear_message(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer
) -> None:
    key = vendor_key(tfs, vendor_id, tmp_path / "keys")
    key[-1] = "not-the-password"
    update = write_json(tmp_path / "update.json", [{"mcOrderId": "x", "status": "Shipped"}])
    result = tfs("send-status", "--url", server.url, *key, vendor_id, update, code=2)
    assert result.stderr.startswith("error: ")
    assert "password" in result.stderr
    assert "HTTP" not in result.stdout


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_send_status_to_an_unreachable_url_exits_4_with_a_clear_message(
    tfs: Tfs, vendor_id: str, tmp_path: Path
) -> None:
    key = vendor_key(tfs, vendor_id, tmp_path / "keys")
    update = write_json(tmp_path / "update.json", [{"mcOrderId": "x", "status": "Shipped"}])
    url = f"http://127.0.0.1:{unused_port()}/loyalty/rewards"
    result = tfs("send-status", "--url", url, *key, vendor_id, update, code=4)
    assert result.stderr.startswith("error: ")
    assert f"could not connect to {url}/vendors/{vendor_id}/orders/status" in result.stderr


def answer_body(result: Result) -> Any:
    """The JSON body a `tfs request`/`send-status` printed after its status and header lines."""
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line[:1] in "[{")
    return json.loads("\n".join(lines[start:]))


def credential_file(result: Result) -> Path:
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("credential:")]
    return Path(line.split(":", 1)[1].split()[0])


def test_credentials_create_writes_a_credential_file_that_send_status_takes(
    tfs: Tfs, vendor_id: str, tmp_path: Path, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = tfs("credentials", "create", "--vendor", vendor_id, "--out", tmp_path / "keys")
    path = credential_file(made)
    saved = json.loads(path.read_text())
    key, p12, password = created(made)
    assert saved == {
        "consumerKey": key,
        "role": "vendor",
        "vendorId": vendor_id,
        "p12": str(p12),
        "password": password,
    }
    assert path.stat().st_mode & 0o777 == 0o600
    order = placement(vendor_id, items=1)
    tfs("orders", "place", write_json(tmp_path / "order.json", order))
    shipped = write_json(
        tmp_path / "ok.json", [{"mcOrderId": order["mcOrderId"], "status": "Shipped"}]
    )
    ok = tfs("send-status", "--url", server.url, "--credential", path, vendor_id, shipped)
    assert ok.stdout.startswith("HTTP 200\n")
    assert ok.stderr.strip().endswith("1 applied, 0 failed")
    # An order that FAILED: exit 1 and a summary by error code; --allow-failed: 0.
    mixed = write_json(
        tmp_path / "mixed.json",
        [
            {"mcOrderId": order["mcOrderId"], "status": "Delivered"},
            {"mcOrderId": "no-such-order", "status": "Shipped"},
        ],
    )
    failed = tfs("send-status", "--url", server.url, "--credential", path, vendor_id, mixed, code=1)
    assert failed.stderr.strip().splitlines()[-1].startswith("1 applied, 1 failed: 100")
    assert "×1" in failed.stderr
    monkeypatch.setenv("TFS_CREDENTIAL", str(path))  # the file named by the environment
    allowed = tfs("send-status", "--url", server.url, "--allow-failed", vendor_id, mixed)
    assert allowed.stdout.startswith("HTTP 200\n")


def test_request_prints_the_status_headers_and_body_and_exits_by_status(
    tfs: Tfs, tmp_path: Path, server: LiveServer
) -> None:
    made = tfs("credentials", "create", "--platform", "--out", tmp_path / "keys")
    path = credential_file(made)
    url = f"{server.url}/events?after=0&limit=1"
    got = tfs("request", "GET", url, "--credential", path, "--header", "X-Correlation-ID: abc-1")
    lines = got.stdout.splitlines()
    assert lines[0] == "HTTP 200" and lines[1] == "X-Correlation-ID: abc-1"
    assert "events" in json.loads(got.stdout[got.stdout.index("{") :])
    missing = tfs("request", "GET", f"{server.url}/orders/nope", "--credential", path, code=3)
    assert missing.stdout.startswith("HTTP 404\n")
    usage = tfs("request", "GET", url, code=2)
    assert "--credential" in usage.stderr


def test_print_curl_sends_nothing_and_prints_a_command_that_works(
    tfs: Tfs, tmp_path: Path, server: LiveServer
) -> None:
    made = tfs("credentials", "create", "--platform", "--out", tmp_path / "keys")
    path = credential_file(made)
    # Nothing listens on port 9: a request sent there would exit 4.
    unsent = tfs("request", "GET", "http://127.0.0.1:9/x", "--credential", path, "--print-curl")
    assert shlex.split(unsent.stdout)[0] == "curl"
    get = tfs(
        "request",
        "GET",
        f"{server.url}/events?after=0&limit=1",
        "--credential",
        path,
        "--print-curl",
    )
    ran = subprocess.run(shlex.split(get.stdout), capture_output=True, text=True, check=True)
    assert ran.stdout.startswith("HTTP/1.1 200")
    assert "events" in json.loads(ran.stdout[ran.stdout.index("{") :])
    again = subprocess.run(shlex.split(get.stdout), capture_output=True, text=True, check=True)
    assert again.stdout.startswith("HTTP/1.1 401")  # its nonce is spent: good once
    # A signed body from a file, sent byte for byte (the body hash holds).
    order = placement(f"vendor-{uuid.uuid4().hex[:8]}", items=1)
    tfs("vendors", "add", order["vendorId"])
    body = write_json(tmp_path / "order.json", order)
    post = tfs(
        "request",
        "POST",
        f"{server.url}/orders",
        "--credential",
        path,
        "--data",
        body,
        "--print-curl",
    )
    placed = subprocess.run(shlex.split(post.stdout), capture_output=True, text=True, check=True)
    assert placed.stdout.startswith("HTTP/1.1 201"), placed.stdout


# --- demo --------------------------------------------------------------------------------------


def printed_command(result: Result) -> list[str]:
    (line,) = [x for x in result.stdout.splitlines() if "send-status" in x]
    program, *args = shlex.split(line)
    assert program.endswith("tfs")
    return args


def test_demo_prints_a_send_status_command_that_works(
    tfs: Tfs, tmp_path: Path, server: LiveServer
) -> None:
    result = tfs("demo", "--out", tmp_path / "demo", "--url", server.origin)
    assert "carltonone" in result.stdout
    assert "carltonone\tCarlton One Engagement" in tfs("vendors", "list").stdout.splitlines()
    args = printed_command(result)
    assert args[0] == "send-status"
    url = args.index("--url") + 1
    assert args[url] == server.url  # the origin given plus the base path
    args[url] = server.url
    sent = tfs(*args)
    assert sent.stdout.startswith("HTTP 200\n")
    shipped, processing = answer_body(sent)
    assert shipped["orderItems"][0]["status"] == "Shipped"
    assert shipped["orderItems"][0]["trackingNumber"] == "Track123"
    assert processing["status"] == "Processing"


def test_demo_prints_catalog_reads_that_work(tfs: Tfs, tmp_path: Path, server: LiveServer) -> None:
    result = tfs("demo", "--out", tmp_path / "demo", "--url", server.origin)
    reads = [shlex.split(x) for x in result.stdout.splitlines() if "/catalogs" in x]
    assert len(reads) == 2
    catalogs, found = (tfs(*args[1:]) for args in reads)
    assert catalogs.stdout.startswith("HTTP 200\n")
    levels = json.loads(catalogs.stdout[catalogs.stdout.index("{") :])["catalogs"]
    assert levels[0] == {
        "id": 7991,
        "name": "Récompenses",
        "imageURL": levels[0]["imageURL"],
        "parentCatalogId": None,
        "hasRewardItems": False,
    }
    body = found.stdout[found.stdout.index("{") :]
    assert {i["id"] for i in json.loads(body)["rewardItems"]} == {74570, 74610}


def test_demo_prints_platform_reads_and_a_webhook_command_that_work(
    tfs: Tfs, tmp_path: Path, server: LiveServer
) -> None:
    """After the printed update, the printed platform reads show the order shipped and the
    feed holding its change; the printed `webhooks add` registers a subscription."""
    result = tfs("demo", "--out", tmp_path / "demo", "--url", server.origin)
    lines = [shlex.split(x) for x in result.stdout.splitlines() if x.startswith("  .venv/bin/")]
    order = next(a[1:] for a in lines if "/orders/" in " ".join(a) and "request" in a[1])
    feed = next(a[1:] for a in lines if "/events?" in " ".join(a))
    webhook = next(a[1:] for a in lines if a[1:3] == ["webhooks", "add"])
    for args in (order, feed):
        assert args[args.index("--credential") + 1].endswith("platform.json")
    assert tfs(*printed_command(result)).stdout.startswith("HTTP 200\n")
    read = tfs(*order)
    assert read.stdout.startswith("HTTP 200\n")
    shipped = json.loads(read.stdout[read.stdout.index("{") :])
    assert shipped["orderItems"][0]["status"] == "Shipped"
    changes = tfs(*feed)
    assert changes.stdout.startswith("HTTP 200\n")
    page = json.loads(changes.stdout[changes.stdout.index("{") :])
    events = page["events"]
    # The tests share one database: follow the printed read's cursor to the feed's end.
    url = feed.index(next(a for a in feed if "/events?" in a))
    while page["nextCursor"] and len(page["events"]):
        feed[url] = feed[url].split("?")[0] + f"?after={page['nextCursor']}&limit=1000"
        more = tfs(*feed).stdout
        page = json.loads(more[more.index("{") :])
        events += page["events"]
    changed = [e for e in events if e["type"] == "order.status_changed"]
    assert shipped["mcOrderId"] in {e["data"]["order"]["mcOrderId"] for e in changed}
    added = tfs(*webhook)
    fields = dict(line.split(":", 1) for line in added.stdout.splitlines() if ":" in line)
    # The tests share one database: a subscription left behind would fan every later test's
    # events out to a receiver nobody runs, and their relays would spend time dead-lettering them.
    subscription_id = fields["subscription"].strip()
    listed = tfs("webhooks", "list").stdout.splitlines()
    tfs("webhooks", "remove", subscription_id)
    assert fields["secret"].strip().startswith("whsec_")
    assert any(
        x.startswith(f"{subscription_id}\t") and x.endswith("\thttp://127.0.0.1:9000/tfs-events")
        for x in listed
    )


def test_demo_twice_reuses_its_credential(tfs: Tfs, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    first = printed_command(tfs("demo", "--out", out, "--url", "http://127.0.0.1:9"))
    demo_keys = {k for k, line in credential_lines(tfs).items() if line[-1] == "demo"}
    second = printed_command(tfs("demo", "--out", out, "--url", "http://127.0.0.1:9"))
    assert second == first
    saved = json.loads(Path(first[first.index("--credential") + 1]).read_text())
    assert saved["role"] == "vendor" and saved["vendorId"] == "carltonone"
    consumer_key = saved["consumerKey"]
    assert consumer_key in demo_keys
    after = {k for k, line in credential_lines(tfs).items() if line[-1] == "demo"}
    assert after == demo_keys
    assert credential_lines(tfs)[consumer_key][1:4] == ["vendor", "carltonone", "active"]


def test_demo_is_refused_in_production(
    tfs: Tfs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TFS_ENV", "production")
    result = tfs("demo", "--out", tmp_path / "demo", code=3)
    assert "TFS_ENV=production" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_new_consumer_keys_never_start_with_a_dash_which_a_command_line_takes_for_an_option() -> (
    None
):
    from tfs.access.credentials import new_consumer_key

    # About one key in 64 would start with '-' if drawn freely; 3,000 draws miss that ~never.
    keys = [new_consumer_key() for _ in range(3000)]
    assert not [k for k in keys if k.startswith("-")]
    assert all(len(k) == 97 and k[48] == "!" for k in keys)


# --- a fast, clear command line -----------------------------------------------------------------


def test_help_and_commands_without_a_database_do_not_import_the_service() -> None:
    """`tfs --help`, `send-status` and `request` start without SQLAlchemy or the service's
    parts (a new process: what a user starts); the figure is in the note, not asserted."""
    probe = (
        "import sys; sys.argv = ['tfs'] + sys.argv[1:]\n"
        "from tfs.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'tfs.db.store', 'tfs.orders', 'oauth1')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    for args in (["--help"], ["send-status", "--help"], ["request", "--help"]):
        out = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
        ).stdout
        assert "HEAVY []" in out, (args, out)
    listed = subprocess.run(
        [sys.executable, "-c", probe, "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in ("serve", "send-status", "request", "catalog", "programs", "demo", "bench"):
        assert f"  {name} " in listed


def test_a_command_never_makes_a_new_empty_database_where_none_was(
    tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TFS_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(main, ["vendors", "list"])
    assert result.exit_code == 3
    assert f"no database at {tmp_cwd / 'var' / 'tfs.db'}" in result.stderr
    assert not (tmp_cwd / "var").exists()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    listed = runner.invoke(main, ["vendors", "list"])
    assert listed.exit_code == 0
    assert "no vendors yet" in listed.stdout
    assert "no credentials yet" in runner.invoke(main, ["credentials", "list"]).stdout
