"""The operators' commands for events: `tfs webhooks …`, `tfs events …` and `tfs relay`.

Registered on the `tfs` group by tfs.cli; the shared context and exit codes are in
tfs.cli.context.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, NoReturn

import click

from tfs import clock
from tfs.cli.context import EXIT_REFUSED, EXIT_USAGE, Context, fail
from tfs.errors import InvalidWebhookUrl, TfsError
from tfs.notify import usecases
from tfs.notify.deliveries import DeliveryView

if TYPE_CHECKING:
    from tfs.notify.relay import Relay


def _ctx() -> Context:
    return click.get_current_context().ensure_object(Context)


def _fail(exc: TfsError) -> NoReturn:
    bad_input = isinstance(exc, InvalidWebhookUrl)
    fail(exc.description, EXIT_USAGE if bad_input else EXIT_REFUSED)


@click.group()
def webhooks() -> None:
    """Webhook subscriptions: where the relay POSTs every event, signed."""


@webhooks.command("add")
@click.argument("url")
@click.option("--vendor", default=None, help="Only this vendor's orders.")
def webhooks_add(url: str, vendor: str | None) -> None:
    """Subscribe URL to events from now on; prints the subscription id and its signing secret."""
    from tfs.notify.webhooks import check_url, new_secret

    ctx = _ctx()
    secret = new_secret()
    try:
        check_url(url)
        subscription_id = usecases.add_subscription(ctx.store, url, vendor, secret, clock.now())
    except TfsError as exc:
        _fail(exc)
    click.echo(f"subscription: {subscription_id}")
    click.echo(f"secret:       {secret}")
    click.echo("Verify each delivery with this secret (Standard Webhooks); it is not shown again.")


@webhooks.command("list")
def webhooks_list() -> None:
    for s in usecases.list_subscriptions(_ctx().store):
        state = "enabled" if s.enabled else "disabled"
        click.echo(f"{s.subscription_id}\t{state}\t{s.vendor_id or '*'}\t{s.url}")


def _set_enabled(subscription_id: int, enabled: bool) -> None:
    try:
        usecases.set_subscription_enabled(_ctx().store, subscription_id, enabled)
    except TfsError as exc:
        _fail(exc)
    click.echo(f"subscription {subscription_id} {'enabled' if enabled else 'disabled'}")


@webhooks.command("disable")
@click.argument("subscription_id", type=int)
def webhooks_disable(subscription_id: int) -> None:
    """Pause sending: events are still queued for it, and go out once it is enabled again."""
    _set_enabled(subscription_id, False)


@webhooks.command("enable")
@click.argument("subscription_id", type=int)
def webhooks_enable(subscription_id: int) -> None:
    _set_enabled(subscription_id, True)


@webhooks.command("remove")
@click.argument("subscription_id", type=int)
def webhooks_remove(subscription_id: int) -> None:
    """Forget the subscription, its deliveries and their attempts."""
    try:
        usecases.remove_subscription(_ctx().store, subscription_id)
    except TfsError as exc:
        _fail(exc)
    click.echo(f"subscription {subscription_id} removed")


@click.group()
def events() -> None:
    """The events sent to the platform: webhook deliveries, and replaying them."""


def _show(d: DeliveryView) -> None:
    click.echo(
        f"delivery {d.delivery_id}\tsubscription {d.subscription_id}\tevent {d.event_id}"
        f"\tsequence {d.sequence}\torder {d.mc_order_id}\trevision {d.revision}\t{d.state}"
        f"\tattempts {d.attempts}"
        + (f"\tnext {d.next_attempt_at.isoformat()}" if d.state == "pending" else "")
    )
    for a in d.log:
        status = "-" if a.status_code is None else str(a.status_code)
        error = f"\t{a.error}" if a.error else ""
        click.echo(f"  {a.attempted_at.isoformat()}\t{status}\t{a.latency_ms} ms{error}")


@events.command("deliveries")
@click.option("--failed", is_flag=True, help="Only dead-lettered ones and those being retried.")
@click.option("--subscription", "subscription_id", type=int, default=None)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def events_deliveries(failed: bool, subscription_id: int | None, limit: int) -> None:
    """The latest webhook deliveries, each with its attempts."""
    for d in usecases.list_deliveries(
        _ctx().store, failed_only=failed, subscription_id=subscription_id, limit=limit
    ):
        _show(d)


@events.command("replay")
@click.option("--delivery", "delivery_id", type=int, default=None, help="A dead-lettered one.")
@click.option("--from-sequence", "first", type=click.IntRange(min=0), default=None)
@click.option("--to-sequence", "last", type=click.IntRange(min=0), default=None)
@click.option("--subscription", "subscription_id", type=int, default=None)
def events_replay(
    delivery_id: int | None, first: int | None, last: int | None, subscription_id: int | None
) -> None:
    """Send a dead-lettered delivery again, or the events FROM..TO to one subscription."""
    ranged = (first, last, subscription_id)
    store = _ctx().store
    try:
        if delivery_id is not None and all(v is None for v in ranged):
            usecases.replay_delivery(store, delivery_id, clock.now())
            click.echo(f"delivery {delivery_id} will be sent again")
        elif delivery_id is None and None not in ranged:
            assert first is not None and last is not None and subscription_id is not None
            if first > last:
                fail("--from-sequence must not be after --to-sequence", EXIT_USAGE)
            count = usecases.replay_events(store, subscription_id, first, last, clock.now())
            click.echo(f"{count} events will be sent again to subscription {subscription_id}")
        else:
            fail(
                "give --delivery ID, or --from-sequence A --to-sequence B --subscription ID",
                EXIT_USAGE,
            )
    except TfsError as exc:
        _fail(exc)


@click.command()
def relay() -> None:
    """Run the event relay on its own (webhooks, and NATS when TFS_NATS_URL is set)."""
    from tfs import logs
    from tfs.notify.relay import Relay

    ctx = _ctx()
    logs.configure(ctx.settings.log_level)
    asyncio.run(_relay_until_signalled(Relay(ctx.store, ctx.settings.relay)))


async def _relay_until_signalled(relay: Relay) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, relay.stop)
    await relay.run()


COMMANDS = (webhooks, events, relay)
