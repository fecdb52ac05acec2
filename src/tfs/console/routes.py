"""The console's pages and forms at {base}/console: each handler reads or acts through the
features' use cases (the same the API calls) and answers HTML from an autoescaped template."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from tfs import clock, metrics
from tfs.access import usecases as access
from tfs.config import Settings
from tfs.console import chart, security
from tfs.console import usecases as console
from tfs.console.security import CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE, CookieRules
from tfs.db.store import Store
from tfs.errors import OrderNotFound, TfsError
from tfs.notify import usecases as notify
from tfs.orders import usecases as orders
from tfs.orders.statuses import Status

HERE = Path(__file__).parent
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
HISTORY_PAGE = 50
CHART_MINUTES = 60
# Rows of vendors and of subscriptions a page shows: every page is bounded, however many there
# are (the CLI lists them all); a page says how many it leaves out.
MAX_ROWS = 200
SIGN_IN_COOKIE_S = 3600
SESSION_COOKIE_S = int(console.SESSION_LIFETIME.total_seconds())

Handler = Callable[["Console", Request, console.Current], Awaitable[Response]]
FormHandler = Callable[["Console", Request, console.Current, dict[str, str]], Awaitable[Response]]


def _bounded(rows: list[Any]) -> tuple[list[Any], int]:
    """The first MAX_ROWS rows, and how many are left out."""
    return rows[:MAX_ROWS], max(0, len(rows) - MAX_ROWS)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped unless a template says otherwise (none does)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["iso"] = lambda t: "" if t is None else clock.iso(t)
    return env


def page(handler: Handler) -> Callable[[Console, Request], Awaitable[Response]]:
    """A page that needs a session: without one, the sign-in page; with a one-time password
    not yet changed, the password page."""

    async def run(self: Console, request: Request) -> Response:
        current = await self.current(request)
        if current is None:
            return self.redirect("/sign-in")
        if current.operator.must_change:
            return self.redirect("/password")
        return await handler(self, request, current)

    return run


def form(
    handler: FormHandler, *, while_must_change: bool = False
) -> Callable[[Console, Request], Awaitable[Response]]:
    """A form post that needs a session, from the console's own page (origin), with the
    session's CSRF token; else 403 and nothing done."""

    async def run(self: Console, request: Request) -> Response:
        fields = await security.read_form(request)
        current = await self.current(request)
        if current is None:
            return self.refused(request, "You are not signed in (or the session has ended).")
        if not security.same_origin(request, self.settings.public_url) or not (
            security.token_matches(fields, current.session.csrf_token)
        ):
            return self.refused(request, _CSRF_REFUSED)
        assert fields is not None
        if current.operator.must_change and not while_must_change:
            return self.redirect("/password")
        return await handler(self, request, current, fields)

    return run


_CSRF_REFUSED = (
    "This form was refused: it did not come from this console's own page (a missing or wrong"
    " form token, or another site). Nothing was done; reload the page and try again."
)


@dataclass
class Console:
    settings: Settings
    store: Store
    root: str  # the console's path: {base}/console
    env: jinja2.Environment

    # --- helpers -------------------------------------------------------------------------

    def cookies(self, request: Request) -> CookieRules:
        return CookieRules(self.root, security.is_https(request, self.settings.public_url))

    async def current(self, request: Request) -> console.Current | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token or len(token) > 128:
            return None
        return await run_in_threadpool(console.current_session, self.store, token, clock.now())

    def redirect(self, path: str) -> Response:
        return RedirectResponse(self.root + path, status_code=303)

    def render(
        self,
        template: str,
        current: console.Current | None,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        html = self.env.get_template(template).render(
            root=self.root,
            operator=None if current is None else current.operator.name,
            csrf=None if current is None else current.session.csrf_token,
            csrf_field=CSRF_FIELD,
            **values,
        )
        return HTMLResponse(html, status)

    def refused(self, request: Request, why: str) -> HTMLResponse:
        return self.render("error.html", None, 403, title="Refused", message=why)

    # --- signing in and out --------------------------------------------------------------

    async def sign_in_page(self, request: Request) -> Response:
        if await self.current(request) is not None:
            return self.redirect("/")
        return self.sign_in_form(request)

    def sign_in_form(self, request: Request, status: int = 200, message: str = "") -> Response:
        token = security.sign_in_token(request)
        response = self.render(
            "sign_in.html", None, status, sign_in_csrf=token, message=message, name=""
        )
        self.cookies(request).set(response, SIGN_IN_COOKIE, token, SIGN_IN_COOKIE_S)
        return response

    async def sign_in(self, request: Request) -> Response:
        fields = await security.read_form(request)
        # Checked before the password: a refused form is no sign-in attempt, and is not
        # counted against the name.
        if not security.same_origin(request, self.settings.public_url) or not (
            security.token_matches(fields, request.cookies.get(SIGN_IN_COOKIE))
        ):
            return self.refused(request, _CSRF_REFUSED)
        assert fields is not None
        name, password = fields.get("name", ""), fields.get("password", "")
        try:
            signed_in = await run_in_threadpool(
                console.sign_in, self.store, name, password, clock.now()
            )
        except console.SignInRefused:
            return self.sign_in_form(
                request,
                401,
                "Wrong name or password, or the name is locked for"
                f" {int(console.LOCK_FOR.total_seconds() // 60)} minutes after"
                f" {console.LOCK_AFTER_FAILURES} failed sign-ins in a row.",
            )
        response = self.redirect("/password" if signed_in.must_change else "/")
        cookies = self.cookies(request)
        cookies.set(response, SESSION_COOKIE, signed_in.token, SESSION_COOKIE_S)
        cookies.clear(response, SIGN_IN_COOKIE)
        return response

    async def _sign_out(
        self, request: Request, current: console.Current, fields: dict[str, str]
    ) -> Response:
        await run_in_threadpool(console.sign_out, self.store, request.cookies[SESSION_COOKIE])
        response = self.redirect("/sign-in")
        self.cookies(request).clear(response, SESSION_COOKIE)
        return response

    sign_out = form(_sign_out, while_must_change=True)

    async def password_page(self, request: Request) -> Response:
        current = await self.current(request)
        if current is None:
            return self.redirect("/sign-in")
        return self.render("password.html", current, must_change=current.operator.must_change)

    async def _change_password(
        self, request: Request, current: console.Current, fields: dict[str, str]
    ) -> Response:
        new = fields.get("new", "")
        try:
            if new != fields.get("confirm", ""):
                raise console.PasswordRefused("The two new passwords differ.")
            await run_in_threadpool(
                console.change_password, self.store, current, fields.get("current", ""), new
            )
        except console.PasswordRefused as exc:
            return self.render(
                "password.html",
                current,
                400,
                must_change=current.operator.must_change,
                message=str(exc),
            )
        return self.redirect("/?password=changed")

    change_password = form(_change_password, while_must_change=True)

    # --- pages ---------------------------------------------------------------------------

    async def _overview(self, request: Request, current: console.Current) -> Response:
        data = await run_in_threadpool(self._overview_data)
        return self.render(
            "overview.html",
            current,
            nav="overview",
            password_changed=request.query_params.get("password") == "changed",
            **data,
        )

    def _overview_data(self) -> dict[str, Any]:
        now = clock.now()
        counts: dict[str, dict[str, int]] = {v: {} for v, _ in access.list_vendors(self.store)}
        for vendor_id, status, n in orders.count_by_status(self.store):
            counts.setdefault(vendor_id, {})[status] = n
        # The vendors with the most orders first, at most MAX_ROWS of them (a bounded page).
        busiest, hidden = _bounded(
            sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        )
        results = metrics.update_results()
        return {
            "chart": chart.bars(notify.changes_per_minute(self.store, now, CHART_MINUTES)),
            "results": sorted(results.items(), key=lambda kv: (not kv[0].isalpha(), kv[0])),
            "statuses": [s.value for s in Status],
            "counts": busiest,
            "hidden_vendors": hidden,
            "backlog": notify.relay_backlog_of(self.store, bool(self.settings.relay.nats_url), now),
            "now": now,
        }

    overview = page(_overview)

    async def _vendors(self, request: Request, current: console.Current) -> Response:
        vendors, hidden = _bounded(await run_in_threadpool(access.list_vendors, self.store))
        credentials = await run_in_threadpool(access.list_credentials, self.store)
        by_vendor: dict[str | None, list[Any]] = {}
        for c in credentials:
            by_vendor.setdefault(c.vendor_id, []).append(c)
        return self.render(
            "vendors.html",
            current,
            nav="vendors",
            vendors=vendors,
            hidden=hidden,
            by_vendor=by_vendor,
            revoked=request.query_params.get("revoked"),
        )

    vendors = page(_vendors)

    async def _revoke(
        self, request: Request, current: console.Current, fields: dict[str, str]
    ) -> Response:
        key = fields.get("consumer_key", "")
        if not await run_in_threadpool(access.revoke_credential, self.store, key):
            raise HTTPException(404, f"No credential {key}.")
        return self.redirect("/vendors?revoked=" + quote(key, safe=""))

    revoke = form(_revoke)

    async def _orders(self, request: Request, current: console.Current) -> Response:
        text = request.query_params.get("q", "").strip()
        found = await run_in_threadpool(orders.search_orders, self.store, text, 50) if text else []
        if len(found) == 1:
            return self.redirect("/order?id=" + quote(found[0].state.mc_order_id, safe=""))
        return self.render("orders.html", current, nav="orders", q=text, found=found)

    search = page(_orders)

    async def _order(self, request: Request, current: console.Current) -> Response:
        mc_order_id = request.query_params.get("id", "")
        after = _history_cursor(request.query_params.get("after"))
        try:
            data = await run_in_threadpool(self._order_data, mc_order_id, after)
        except OrderNotFound:
            raise HTTPException(404, f"No order {mc_order_id}.") from None
        return self.render("order.html", current, nav="orders", mc_order_id=mc_order_id, **data)

    def _order_data(self, mc_order_id: str, after: tuple[int, int] | None) -> dict[str, Any]:
        record = orders.read_order(self.store, mc_order_id)
        history = orders.read_history(self.store, mc_order_id, after, HISTORY_PAGE + 1)
        events = notify.order_events(self.store, mc_order_id, 500)
        return {
            "record": record,
            "history": history.entries[:HISTORY_PAGE],
            "next_after": history.entries[HISTORY_PAGE - 1][1]
            if len(history.entries) > HISTORY_PAGE
            else None,
            "after": after,
            "events": [(e, json.loads(e.data).get("changes", [])) for e in events],
            "deliveries": notify.list_deliveries(self.store, mc_order_id=mc_order_id, limit=500),
        }

    order = page(_order)

    async def _webhooks(self, request: Request, current: console.Current) -> Response:
        data = await run_in_threadpool(self._webhooks_data)
        return self.render("webhooks.html", current, nav="webhooks", **data)

    def _webhooks_data(self) -> dict[str, Any]:
        subscriptions, hidden = _bounded(notify.list_subscriptions(self.store))
        backlog = notify.relay_backlog_of(self.store, False, clock.now())
        return {
            "subscriptions": subscriptions,
            "hidden": hidden,
            "waiting": {s.subscription_id: s for s in backlog.subscriptions},
            "recent": {
                s.subscription_id: notify.list_deliveries(
                    self.store, subscription_id=s.subscription_id, limit=10
                )
                for s in subscriptions
            },
        }

    webhooks = page(_webhooks)

    async def _dead_letters(self, request: Request, current: console.Current) -> Response:
        dead = await run_in_threadpool(
            lambda: notify.list_deliveries(self.store, dead_only=True, limit=200)
        )
        subscriptions = await run_in_threadpool(notify.list_subscriptions, self.store)
        return self.render(
            "dead_letters.html",
            current,
            nav="dead",
            dead=dead,
            urls={s.subscription_id: s.url for s in subscriptions},
            replayed=request.query_params.get("replayed"),
        )

    dead_letters = page(_dead_letters)

    async def _replay(
        self, request: Request, current: console.Current, fields: dict[str, str]
    ) -> Response:
        raw = fields.get("delivery_id", "")
        if not (raw.isascii() and raw.isdigit()):
            raise HTTPException(400, "No such delivery.")
        await run_in_threadpool(notify.replay_delivery, self.store, int(raw), clock.now())
        return self.redirect(f"/dead-letters?replayed={int(raw)}")

    replay = form(_replay)

    # --- the rest ------------------------------------------------------------------------

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            raise HTTPException(404, "No such file.")
        return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name])

    async def error(self, request: Request, exc: Exception) -> Response:
        """Errors answer HTML here (the API's answer JSON, in Mastercard's envelope)."""
        if isinstance(exc, HTTPException):
            status, message = exc.status_code, str(exc.detail)
        else:
            assert isinstance(exc, TfsError)
            status, message = exc.status, exc.description
        return self.render("error.html", None, status, title=f"Error {status}", message=message)


def _history_cursor(raw: str | None) -> tuple[int, int] | None:
    if not raw:
        return None
    first, _, second = raw.partition(".")
    if not (first.isascii() and first.isdigit() and second.isascii() and second.isdigit()):
        raise HTTPException(400, "Not a history cursor of this console.")
    return int(first), int(second)


def app(settings: Settings, store: Store) -> Starlette:
    """The console's own ASGI app, to mount at {base}/console."""
    root = settings.base_path + "/console"
    c = Console(settings, store, root, _environment())
    routes = [
        Route("/", c.overview, methods=["GET"]),
        Route("/sign-in", c.sign_in_page, methods=["GET"]),
        Route("/sign-in", c.sign_in, methods=["POST"]),
        Route("/sign-out", c.sign_out, methods=["POST"]),
        Route("/password", c.password_page, methods=["GET"]),
        Route("/password", c.change_password, methods=["POST"]),
        Route("/vendors", c.vendors, methods=["GET"]),
        Route("/credentials/revoke", c.revoke, methods=["POST"]),
        Route("/orders", c.search, methods=["GET"]),
        Route("/order", c.order, methods=["GET"]),
        Route("/webhooks", c.webhooks, methods=["GET"]),
        Route("/dead-letters", c.dead_letters, methods=["GET"]),
        Route("/dead-letters/replay", c.replay, methods=["POST"]),
        Route("/static/{name}", c.static, methods=["GET"]),
    ]
    console_app = Starlette(
        routes=routes, exception_handlers={HTTPException: c.error, TfsError: c.error}
    )
    console_app.add_middleware(security.SecurityHeaders)
    return console_app
