"""`tfs webhooks …` and `tfs events …` through click's runner, on the test database."""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from relays import FAST, RelayThread, make_changes, now, outbox
from tfs.access import usecases as access
from tfs.cli import main
from tfs.db.store import Store
from webhook_receiver import Receiver, wait_for

Tfs = Callable[..., Result]


@pytest.fixture
def tfs(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Tfs:
    monkeypatch.setenv("TFS_DATABASE_URL", database_url)
    runner = CliRunner()

    def run(*args: str | Path | int, code: int = 0) -> Result:
        result = runner.invoke(main, [str(a) for a in args])
        assert result.exit_code == code, (result.output, result.exception)
        if code:
            assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
        return result

    return run


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def vendor_id(store: Store) -> str:
    vendor = f"vendor-{uuid.uuid4().hex[:12]}"
    access.add_vendor(store, vendor, None, now())
    return vendor


def added(result: Result) -> tuple[int, str]:
    fields = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    return int(fields["subscription"]), fields["secret"].strip()


def test_add_prints_a_standard_webhooks_secret_and_list_shows_the_subscription(
    tfs: Tfs, receiver: Receiver, vendor_id: str
) -> None:
    subscription_id, secret = added(tfs("webhooks", "add", receiver.url, "--vendor", vendor_id))
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    listed = tfs("webhooks", "list").stdout.splitlines()
    assert f"{subscription_id}\tenabled\t{vendor_id}\t{receiver.url}" in listed
    assert secret not in tfs("webhooks", "list").stdout
    tfs("webhooks", "disable", subscription_id)
    assert f"{subscription_id}\tdisabled\t{vendor_id}\t{receiver.url}" in (
        tfs("webhooks", "list").stdout.splitlines()
    )
    tfs("webhooks", "remove", subscription_id)
    assert not any(
        line.startswith(f"{subscription_id}\t")
        for line in tfs("webhooks", "list").stdout.splitlines()
    )
    tfs("webhooks", "remove", subscription_id, code=3)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://example.com/hook", "not an http:// or https:// URL"),
        ("example.com/hook", "not an http:// or https:// URL"),
        ("http:///hook", "has no host"),
        ("https://no-such-host.invalid/hook", "points nowhere"),
        ("http://127.0.0.1:99999/hook", "invalid port"),
    ],
)
def test_a_url_that_is_not_http_or_points_nowhere_is_refused(tfs: Tfs, url: str, says: str) -> None:
    result = tfs("webhooks", "add", url, code=2)
    assert says in result.stderr


def test_a_subscription_for_an_unknown_vendor_is_refused(tfs: Tfs, receiver: Receiver) -> None:
    result = tfs("webhooks", "add", receiver.url, "--vendor", "no-such-vendor", code=3)
    assert "does not exist" in result.stderr


def test_deliveries_show_their_attempts_and_a_dead_one_can_be_replayed(
    tfs: Tfs, store: Store, receiver: Receiver, vendor_id: str
) -> None:
    subscription_id, receiver.secret = added(
        tfs("webhooks", "add", receiver.url, "--vendor", vendor_id)
    )
    try:
        receiver.fail_when = lambda event: event["revision"] == 1
        make_changes(store, vendor_id, orders=1)
        quick = dataclasses.replace(FAST, retry_hours=0.3 / 3600)  # a 0.3 s retry window
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.unique()) == 3, "revisions 2 to 4")
        failed = tfs("events", "deliveries", "--failed", "--subscription", subscription_id).stdout
        heads = [line for line in failed.splitlines() if line.startswith("delivery ")]
        assert len(heads) == 1 and "\tdead\t" in heads[0] and "revision 1" in heads[0]
        assert "\t500\t" in failed
        delivery_id = int(heads[0].split("\t")[0].removeprefix("delivery "))
        every = tfs("events", "deliveries", "--subscription", subscription_id).stdout
        assert every.count("\tdelivered\t") == 3

        tfs("events", "replay", "--delivery", delivery_id + 1_000_000, code=3)
        receiver.fail_when = lambda _event: False
        tfs("events", "replay", "--delivery", delivery_id)
        tfs("events", "replay", "--delivery", delivery_id, code=3)  # pending now, not dead
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.unique()) == 4, "the replayed revision 1")

        events = outbox(store, vendor_id)
        result = tfs(
            "events", "replay", "--from-sequence", events[0].sequence,
            "--to-sequence", events[-1].sequence, "--subscription", subscription_id,
        )  # fmt: skip
        assert result.stdout.startswith("4 events")
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.accepted()) == 8, "the replayed range")
    finally:
        tfs("webhooks", "remove", subscription_id)


def test_replay_needs_a_delivery_or_a_whole_range(tfs: Tfs) -> None:
    assert "give --delivery ID" in tfs("events", "replay", code=2).stderr
    assert "give --delivery ID" in tfs("events", "replay", "--from-sequence", 1, code=2).stderr
    result = tfs(
        "events", "replay", "--from-sequence", 5, "--to-sequence", 1, "--subscription", 1, code=2
    )
    assert "must not be after" in result.stderr
