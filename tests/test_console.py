"""The operations console over HTTP against the live server, on each backend: signing in (one-
time passwords, lockout, CSRF), its cookies and headers, and what its pages show and do."""

from __future__ import annotations

import dataclasses
import html
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from oauth1.oauth_ext import OAuth1RSA

from conftest import Client, LiveServer, Placed
from relays import FAST, RelayThread, make_changes, now
from tfs.access import usecases as access
from tfs.cli import main
from tfs.console import routes as console_routes
from tfs.console import usecases as console
from tfs.db.store import Store
from tfs.notify import usecases as notify
from tfs.notify.webhooks import new_secret
from tfs.orders import usecases as orders
from webhook_receiver import Receiver, wait_for

NEW_PASSWORD = "a new password, long enough"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A requests session that fills in the console's forms as a browser would."""

    def __init__(self, server: LiveServer) -> None:
        self.root = server.url + "/console"
        self.http = requests.Session()
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> requests.Response:
        response = self.http.get(self.root + path, allow_redirects=False, timeout=30, **kw)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, str], *, csrf: str | None = None, **kw: Any
    ) -> requests.Response:
        fields = {"csrf": self.csrf if csrf is None else csrf, **data}
        if csrf == "":
            del fields["csrf"]
        return self.http.post(
            self.root + path, data=fields, allow_redirects=False, timeout=30, **kw
        )

    def sign_in(self, name: str, password: str, **kw: Any) -> requests.Response:
        self.get("/sign-in")
        return self.post("/sign-in", {"name": name, "password": password}, **kw)

    def signed_in(self, name: str, password: str) -> Browser:
        answer = self.sign_in(name, password)
        assert answer.status_code == 303, answer.text
        self.get("/")  # picks up the session's token
        return self


def redirected_to(response: requests.Response, path: str) -> bool:
    return response.status_code == 303 and response.headers["location"].endswith(path)


@pytest.fixture
def operator(store: Store) -> Iterator[tuple[str, str]]:
    """A new operator and their one-time password."""
    name = f"op-{uuid.uuid4().hex[:10]}"
    yield name, console.add_operator(store, name, now())
    console.remove_operator(store, name)


@pytest.fixture
def browser(server: LiveServer) -> Browser:
    return Browser(server)


@pytest.fixture
def admin(store: Store, server: LiveServer, operator: tuple[str, str]) -> Browser:
    """Signed in as an operator who has set a password."""
    name, one_time = operator
    b = Browser(server).signed_in(name, one_time)
    b.get("/password")
    changed = b.post(
        "/password", {"current": one_time, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert redirected_to(changed, "/?password=changed"), changed.text
    b.get("/")
    return b


def set_lock(store: Store, name: str, until: Any) -> None:
    with store.transaction() as tx:
        tx.sql.execute(
            "UPDATE operators SET locked_until = ? WHERE name = ?", (tx.sql.time(until), name)
        )


def test_the_one_time_password_signs_in_only_to_choose_a_new_one(
    browser: Browser, operator: tuple[str, str]
) -> None:
    name, one_time = operator
    assert redirected_to(browser.sign_in(name, one_time), "/password")
    assert redirected_to(browser.get("/"), "/password")  # every page waits for the new password
    assert redirected_to(browser.get("/vendors"), "/password")
    assert "Choose your password" in browser.get("/password").text
    short = browser.post("/password", {"current": one_time, "new": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 12 characters" in short.text
    wrong = browser.post(
        "/password", {"current": "not it", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    done = browser.post(
        "/password", {"current": one_time, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert redirected_to(done, "/?password=changed")
    assert browser.get("/").status_code == 200

    again = fresh_browser(browser)
    assert again.sign_in(name, one_time).status_code == 401  # the one-time password is spent
    assert redirected_to(again.sign_in(name, NEW_PASSWORD), "/")


def fresh_browser(b: Browser) -> Browser:
    fresh = Browser.__new__(Browser)
    fresh.root, fresh.http, fresh.csrf = b.root, requests.Session(), ""
    return fresh


def test_five_wrong_passwords_lock_the_name_for_five_minutes(
    store: Store, browser: Browser, operator: tuple[str, str]
) -> None:
    name, one_time = operator
    for _ in range(console.LOCK_AFTER_FAILURES):
        refused = browser.sign_in(name, "wrong password")
        assert refused.status_code == 401 and "Wrong name or password" in refused.text
    assert browser.sign_in(name, one_time).status_code == 401  # locked: the right one too
    (held,) = [o for o in console.list_operators(store) if o.name == name]
    assert held.locked_until is not None
    assert held.locked_until - now() > timedelta(minutes=4, seconds=50)
    set_lock(store, name, now() - timedelta(seconds=1))  # five minutes later
    assert redirected_to(browser.sign_in(name, one_time), "/password")


def test_a_form_refused_for_its_token_is_not_a_failed_sign_in(
    store: Store, browser: Browser, operator: tuple[str, str]
) -> None:
    name, one_time = operator
    for _ in range(console.LOCK_AFTER_FAILURES - 1):
        assert browser.sign_in(name, "wrong password").status_code == 401
    for kw in (
        {"csrf": ""},  # no token
        {"csrf": "x" * 43},  # a wrong one
        {"headers": {"Origin": "https://evil.example"}},  # another site's form
        {"headers": {"Sec-Fetch-Site": "cross-site"}},
    ):
        refused = browser.sign_in(name, "wrong password", **kw)
        assert refused.status_code == 403 and "refused" in refused.text
        refused = browser.sign_in(name, one_time, **kw)
        assert refused.status_code == 403 and "tfs_console=" not in refused.headers.get(
            "set-cookie", ""
        )
    (held,) = [o for o in console.list_operators(store) if o.name == name]
    assert held.failed_count == console.LOCK_AFTER_FAILURES - 1
    assert redirected_to(browser.sign_in(name, one_time), "/password")  # not locked


def test_forms_of_a_session_need_its_token(
    admin: Browser, store: Store, make_vendor: Callable[..., Client]
) -> None:
    vendor = make_vendor()
    for kw in ({"csrf": ""}, {"csrf": "x" * 43}, {"headers": {"Origin": "http://evil.example"}}):
        refused = admin.post("/credentials/revoke", {"consumer_key": vendor.consumer_key}, **kw)
        assert refused.status_code == 403
    assert not access.find_credential(store, vendor.consumer_key).revoked  # type: ignore[union-attr]
    other = fresh_browser(admin)  # another browser's session token is no good either
    assert admin.post("/sign-out", {}, csrf=other.csrf or "y" * 43).status_code == 403


def test_cookies_are_http_only_same_site_strict_and_on_the_console_path_only(
    browser: Browser, operator: tuple[str, str], start_server: Callable[..., LiveServer]
) -> None:
    name, one_time = operator
    form = browser.get("/sign-in")
    assert _cookie_flags(form, "tfs_console_sign_in") >= {"httponly", "samesite=strict"}
    signed_in = browser.sign_in(name, one_time)
    flags = _cookie_flags(signed_in, "tfs_console")
    assert flags >= {"httponly", "samesite=strict", "path=/loyalty/rewards/console"}
    assert "secure" not in flags  # plain http here
    behind_https = Browser(start_server(public_url="https://tfs.example"))
    assert "secure" in _cookie_flags(behind_https.get("/sign-in"), "tfs_console_sign_in")


def _cookie_flags(response: requests.Response, name: str) -> set[str]:
    raw = response.raw.headers.getlist("set-cookie")
    (cookie,) = [c for c in raw if c.startswith(name + "=")]
    return {part.strip().lower() for part in cookie.split(";")[1:]}


def test_pages_have_the_security_headers(admin: Browser) -> None:
    for path in ("/", "/sign-in", "/static/console.js", "/no-such-page"):
        headers = admin.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["cache-control"] == "no-store"
    page = admin.get("/").text
    assert "<script>" not in page and "<style" not in page and " style=" not in page
    assert admin.get("/no-such-page").headers["content-type"].startswith("text/html")


PAGES = ("/", "/vendors", "/orders?q=x", "/order?id=x", "/webhooks", "/dead-letters", "/password")


def test_pages_need_a_session_and_oauth_credentials_are_no_session(
    browser: Browser, vendor: Client, platform: Client
) -> None:
    for path in PAGES:
        assert redirected_to(browser.get(path), "/sign-in"), path
        signed = requests.get(
            browser.root + path,
            auth=OAuth1RSA(platform.consumer_key, platform.key),
            allow_redirects=False,
            timeout=30,
        )
        assert redirected_to(signed, "/sign-in"), path
    refused = browser.post("/credentials/revoke", {"consumer_key": vendor.consumer_key})
    assert refused.status_code == 403


def test_the_api_does_not_take_the_console_cookie(admin: Browser, vendor: Client) -> None:
    token = admin.http.cookies.get("tfs_console")
    assert token
    answer = requests.get(
        vendor.base_url + f"/vendors/{vendor.vendor_id}/orders/status",
        cookies={"tfs_console": token},
        timeout=30,
    )
    assert answer.status_code in (400, 401)
    assert "Errors" in answer.json()


def test_signing_out_ends_the_session(admin: Browser) -> None:
    token = admin.http.cookies.get("tfs_console")
    assert redirected_to(admin.post("/sign-out", {}), "/sign-in")
    stale = requests.get(
        admin.root + "/", cookies={"tfs_console": token}, allow_redirects=False, timeout=30
    )
    assert redirected_to(stale, "/sign-in")


def test_an_idle_session_ends(admin: Browser, store: Store) -> None:
    with store.transaction() as tx:
        tx.sql.execute(
            "UPDATE operator_sessions SET last_seen_at = ?",
            (tx.sql.time(now() - console.SESSION_IDLE - timedelta(seconds=1)),),
        )
    assert redirected_to(admin.get("/"), "/sign-in")


def test_the_revoke_button_revokes_and_the_api_then_refuses_the_key(
    admin: Browser, make_vendor: Callable[..., Client], place: Callable[..., Placed]
) -> None:
    vendor = make_vendor()
    order = place(vendor.vendor_id)
    update = [{"mcOrderId": order.mc_order_id, "status": "Processing"}]
    assert vendor.post_status(update).status_code == 200
    page = admin.get("/vendors").text
    assert vendor.vendor_id in page and vendor.consumer_key in page
    done = admin.post("/credentials/revoke", {"consumer_key": vendor.consumer_key})
    assert redirected_to(done, "/vendors?revoked=" + requests.utils.quote(vendor.consumer_key, ""))
    refused = vendor.post_status([{"mcOrderId": order.mc_order_id, "status": "Shipped"}])
    assert refused.status_code == 401
    assert refused.json()["Errors"]["Error"][0]["ReasonCode"] == "AUTHENTICATION_FAILED"


def test_the_order_search_shows_the_order_timeline(
    admin: Browser, vendor: Client, place: Callable[..., Placed]
) -> None:
    order_id = f"vendor-order-{uuid.uuid4().hex[:8]}"
    order = place(vendor.vendor_id, items=1, order_id=order_id)
    item = order.item_ids[0]
    update = [
        {
            "orderId": order_id,
            "mcOrderId": order.mc_order_id,
            "orderItems": [
                {
                    "id": "line-1",
                    "mcId": item,
                    "status": "Shipped",
                    "trackingNumber": "1Z-TRACK-42",
                    "histories": [
                        {
                            "eventType": "note",
                            "eventDate": "2026-01-02T03:04:05Z",
                            "note": "Left the dock.",
                        }
                    ],
                }
            ],
        }
    ]
    assert vendor.post_status(update).status_code == 200
    found = admin.get("/orders", params={"q": order_id})  # by the vendor's orderId
    assert redirected_to(found, "/order?id=" + order.mc_order_id)
    page = admin.get("/order", params={"id": order.mc_order_id}).text
    for shown in ("Shipped", "1Z-TRACK-42", "Left the dock.", "statusChange", "trackingUpdate",
                  "order.placed", "order.status_changed"):  # fmt: skip
        assert shown in page, shown
    assert admin.get("/orders", params={"q": order.mc_order_id}).status_code == 303
    missing = admin.get("/orders", params={"q": "no-such-order"})
    assert missing.status_code == 200 and "No order has" in missing.text
    assert admin.get("/order", params={"id": "no-such-order"}).status_code == 404


def test_the_overview_shows_the_flow(
    admin: Browser, vendor: Client, place: Callable[..., Placed], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console_routes, "MAX_ROWS", 100_000)  # the tests share one database
    order = place(vendor.vendor_id)
    assert vendor.post_status([{"mcOrderId": order.mc_order_id, "status": "Processing"}]).ok
    page = admin.get("/").text
    assert '<svg id="updates-chart"' in page and "<rect" in page
    row = re.search(rf"<tr><td>{re.escape(vendor.vendor_id)}</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(1))
    assert cells[1] == "1"  # Processing (the statuses in order: Pending, Processing, …)
    assert 'id="results"' in page and "applied" in page


def test_pages_show_at_most_max_rows_and_say_how_many_they_leave_out(
    admin: Browser,
    store: Store,
    make_vendor: Callable[..., Client],
    place: Callable[..., Placed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The overview shows the vendors with the most orders first; every list is cut at
    MAX_ROWS (2 here) and says how many it leaves out."""
    for _ in range(3):
        place(make_vendor().vendor_id, items=1)
    monkeypatch.setattr(console_routes, "MAX_ROWS", 2)
    totals = {v: 0 for v, _ in access.list_vendors(store)}
    for vendor_id, _status, n in orders.count_by_status(store):
        totals[vendor_id] += n
    busiest = sorted(totals, key=lambda v: (-totals[v], v))[:2]
    page = admin.get("/").text
    start = page.index('id="orders-by-status"')
    rows = re.findall(r"<tr><td>([^<]*)</td>", page[start : page.index("</table>", start)])
    assert [html.unescape(r) for r in rows] == busiest
    assert f"{len(totals) - 2} more vendors, with fewer orders, not shown" in page
    listed = admin.get("/vendors").text
    assert listed.count('<section class="vendor">') == 2
    assert f"{len(totals) - 2} more vendors not shown" in listed


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_dead_letter_is_replayed_by_its_button(
    admin: Browser, store: Store, receiver: Receiver, vendor: Client
) -> None:
    receiver.secret = new_secret()
    subscription_id = notify.add_subscription(
        store, receiver.url, vendor.vendor_id, receiver.secret, now()
    )
    quick = dataclasses.replace(FAST, retry_hours=0.3 / 3600)  # dead after 0.3 s of failures
    try:
        receiver.fail_when = lambda event: event["revision"] == 1
        make_changes(store, vendor.vendor_id, orders=1)
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.unique()) == 3, "revisions 2 to 4")
        (dead,) = notify.list_deliveries(store, dead_only=True, subscription_id=subscription_id)
        page = admin.get("/dead-letters").text
        assert f'id="delivery-{dead.delivery_id}"' in page
        receiver.fail_when = lambda _event: False
        done = admin.post("/dead-letters/replay", {"delivery_id": str(dead.delivery_id)})
        assert redirected_to(done, f"/dead-letters?replayed={dead.delivery_id}")
        assert not notify.list_deliveries(store, dead_only=True, subscription_id=subscription_id)
        with RelayThread(store, quick):
            wait_for(lambda: len(receiver.unique()) == 4, "the replayed revision 1")
        again = admin.post("/dead-letters/replay", {"delivery_id": str(dead.delivery_id)})
        assert again.status_code == 409 and "not dead-lettered" in again.text  # delivered now
        webhooks = admin.get("/webhooks").text
        assert receiver.url in webhooks and "delivered" in webhooks
        assert receiver.secret not in webhooks
    finally:
        notify.remove_subscription(store, subscription_id)


def test_what_vendors_and_orders_say_is_shown_escaped(
    admin: Browser, store: Store, place: Callable[..., Placed]
) -> None:
    vendor_id = f"<script>alert('v{uuid.uuid4().hex[:6]}')</script>"
    access.add_vendor(store, vendor_id, "<b>bold</b> & co", now())
    order = place(vendor_id, items=1, order_id="<img src=x onerror=alert(1)>")
    for path, params in (
        ("/vendors", None),
        ("/", None),
        ("/order", {"id": order.mc_order_id}),
        ("/orders", {"q": "<script>alert(2)</script>"}),
    ):
        page = admin.get(path, params=params).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(" in admin.get("/vendors").text
    assert (
        "&lt;img src=x onerror=alert(1)&gt;"
        in admin.get("/order", params={"id": order.mc_order_id}).text
    )


def test_the_operators_commands(
    database_url: str, monkeypatch: pytest.MonkeyPatch, server: LiveServer
) -> None:
    monkeypatch.setenv("TFS_DATABASE_URL", database_url)
    runner = CliRunner()

    def tfs(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    name = f"cli-op-{uuid.uuid4().hex[:8]}"
    first = _one_time(tfs("operators", "add", name))
    assert "already exists" in tfs("operators", "add", name, code=3)
    assert "name must be" in tfs("operators", "add", " spaced ", code=2).lower()
    listed = [line for line in tfs("operators", "list").splitlines() if line.startswith(name)]
    assert len(listed) == 1 and "one-time password not yet changed" in listed[0]

    browser = Browser(server)
    assert redirected_to(browser.sign_in(name, first), "/password")
    second = _one_time(tfs("operators", "reset", name))
    assert redirected_to(browser.get("/password"), "/sign-in")  # the reset ended the session
    assert browser.sign_in(name, first).status_code == 401
    assert redirected_to(browser.sign_in(name, second), "/password")

    assert "removed" in tfs("operators", "remove", name)
    assert redirected_to(browser.get("/password"), "/sign-in")
    assert "No operator" in tfs("operators", "remove", name, code=3)
    assert "No operator" in tfs("operators", "reset", name, code=3)


def _one_time(output: str) -> str:
    found = re.search(r"one-time password \(shown once\): (\S+)", output)
    assert found, output
    return found.group(1)
