"""The console in a real browser: Debian's headless Chromium driven by Playwright (never a
downloaded browser). Signs in with a one-time password, sets a password, reads the overview's
chart, finds an order and its timeline, replays a dead letter by its button and sees it
delivered, and is refused without a session or with a bad CSRF token. A screenshot of each page
is kept in TFS_TEST_ARTIFACTS (default var/test-artifacts/console)."""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import Client, LiveServer
from relays import FAST, RelayThread, make_changes, now
from tfs.console import usecases as console
from tfs.db.store import Store
from tfs.notify import usecases as notify
from tfs.notify.webhooks import new_secret
from webhook_receiver import Receiver, wait_for

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("TFS_TEST_ARTIFACTS", "var/test-artifacts")) / "console"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("TFS_TEST_REQUIRE_SERVICES"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def shot(page: Any, backend: str, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)


def test_an_operator_signs_in_finds_an_order_and_replays_a_dead_letter(
    chromium: Any,
    backend: str,
    server: LiveServer,
    store: Store,
    vendor: Client,
    receiver: Receiver,
) -> None:
    from playwright.sync_api import expect

    name = f"op-{uuid.uuid4().hex[:8]}"
    one_time = console.add_operator(store, name, now())
    receiver.secret = new_secret()
    subscription_id = notify.add_subscription(
        store, receiver.url, vendor.vendor_id, receiver.secret, now()
    )
    quick = dataclasses.replace(FAST, retry_hours=0.3 / 3600)
    context = chromium.new_context()
    try:
        receiver.fail_when = lambda event: event["revision"] == 1
        # In a thread of its own: Playwright's sync API keeps an event loop in this one.
        with ThreadPoolExecutor(1) as pool:
            (mc_order_id,) = pool.submit(make_changes, store, vendor.vendor_id, 1).result()
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.unique()) == 3, "revisions 2 to 4")
        (dead,) = notify.list_deliveries(store, dead_only=True, subscription_id=subscription_id)

        page = context.new_page()
        errors: list[str] = []
        # Script errors, and whatever the Content-Security-Policy refused (a 403 or a missing
        # favicon the browser reports as well is no error of the page).
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("dialog", lambda dialog: dialog.accept())
        root = server.url + "/console"

        page.goto(root + "/")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        shot(page, backend, "1-sign-in")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", one_time)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/password$"))
        shot(page, backend, "2-password")
        page.fill("input[name=current]", one_time)
        page.fill("input[name=new]", PASSWORD)
        page.fill("input[name=confirm]", PASSWORD)
        page.click("main button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/\?password=changed$"))

        chart = page.locator("svg#updates-chart")
        expect(chart).to_be_visible()
        assert chart.locator("rect").count() == 61  # the last hour's minutes and this one
        # The chart's count is the use case's (other tests' updates of the hour count too).
        changed = sum(n for _, n in notify.changes_per_minute(store, now(), 60))
        assert changed >= 3  # this test's three updates at least
        expect(page.locator("main")).to_contain_text(f"{changed} in the last hour")
        vendor_row = page.locator("#orders-by-status tr", has_text=vendor.vendor_id)
        expect(vendor_row).to_contain_text("1")
        shot(page, backend, "3-overview")

        page.click("nav >> text=Vendors")
        expect(page.locator("main")).to_contain_text(vendor.consumer_key)
        shot(page, backend, "4-vendors")

        page.click("nav >> text=Orders")
        page.fill("input[name=q]", mc_order_id)
        page.click("main button[type=submit]")
        expect(page.locator("#mc-order-id")).to_have_text(mc_order_id)
        expect(page.locator("#order-status")).to_have_text("Delivered")
        expect(page.locator("#events")).to_contain_text("order.status_changed")
        expect(page.locator("#deliveries")).to_contain_text("dead")
        shot(page, backend, "5-order")

        page.click("nav >> text=Webhooks")
        expect(page.locator("main")).to_contain_text(receiver.url)
        shot(page, backend, "6-webhooks")

        page.click("nav >> text=Dead letters")
        row = page.locator(f"#delivery-{dead.delivery_id}")
        expect(row).to_be_visible()
        shot(page, backend, "7-dead-letters")
        # A form whose token was tampered with is refused, and does nothing.
        row.locator("input[name=csrf]").evaluate("input => { input.value = 'forged'; }")
        row.locator("button").click()
        expect(page.locator("h1")).to_have_text("Refused")
        assert notify.list_deliveries(store, dead_only=True, subscription_id=subscription_id)
        shot(page, backend, "8-refused")

        page.goto(root + "/dead-letters")
        receiver.fail_when = lambda _event: False
        page.locator(f"#delivery-{dead.delivery_id} button").click()
        expect(page.locator("#replayed")).to_contain_text(f"Delivery {dead.delivery_id}")
        expect(page.locator(f"#delivery-{dead.delivery_id}")).to_have_count(0)
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.unique()) == 4, "the replayed revision 1")
        page.goto(root + "/order?id=" + mc_order_id)
        expect(page.locator("#deliveries")).not_to_contain_text("dead")
        shot(page, backend, "9-replayed")

        page.click("header button")  # sign out
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        page.goto(root + "/vendors")
        expect(page).to_have_url(re.compile(r"/console/sign-in$"))  # no session: no page
        assert not errors, errors  # no script error, nothing the CSP refused
    finally:
        context.close()
        notify.remove_subscription(store, subscription_id)
        console.remove_operator(store, name)
