"""`tfs operators`: the people who sign in to the operations console ({base}/console)."""

from __future__ import annotations

import click

from tfs import clock
from tfs.cli.context import EXIT_REFUSED, EXIT_USAGE, Context, pass_ctx
from tfs.cli.context import fail as _fail
from tfs.fields import printable


@click.group()
def operators() -> None:
    """Operators of the console."""


def _checked(name: str) -> str:
    if not name or len(name) > 64 or not printable(name) or name != name.strip():
        _fail("NAME must be 1 to 64 printable characters, without spaces around", EXIT_USAGE)
    return name


def _console_url(ctx: Context) -> str:
    origin = (ctx.settings.public_url or "http://127.0.0.1:8000").rstrip("/")
    return f"{origin}{ctx.settings.base_path}/console"


@operators.command("add")
@click.argument("name")
@pass_ctx
def operators_add(ctx: Context, name: str) -> None:
    """Add an operator; prints a one-time password, to be changed at the first sign-in."""
    from tfs.console import usecases as console

    try:
        secret = console.add_operator(ctx.store, _checked(name), clock.now())
    except console.OperatorExists as exc:
        _fail(f"{exc} (`tfs operators reset {name}` gives a new one-time password)", EXIT_REFUSED)
    click.echo(f"operator {name} added; one-time password (shown once): {secret}")
    click.echo(f"sign in at {_console_url(ctx)}; the console then asks for a new password")


@operators.command("list")
@pass_ctx
def operators_list(ctx: Context) -> None:
    from tfs.console import usecases as console

    found = console.list_operators(ctx.store)
    if not found:
        click.echo("no operators yet: add one with `tfs operators add NAME`")
    now = clock.now()
    for o in found:
        state = []
        if o.must_change:
            state.append("one-time password not yet changed")
        if o.locked_until is not None and o.locked_until > now:
            state.append(f"locked until {clock.iso(o.locked_until)}")
        click.echo(f"{o.name}\tsince {clock.iso(o.created_at)}\t{', '.join(state)}".rstrip())


@operators.command("remove")
@click.argument("name")
@pass_ctx
def operators_remove(ctx: Context, name: str) -> None:
    """Remove an operator; their sessions end at once."""
    from tfs.console import usecases as console

    try:
        console.remove_operator(ctx.store, name)
    except console.OperatorNotFound as exc:
        _fail(f"{exc} (`tfs operators list` shows them)", EXIT_REFUSED)
    click.echo(f"operator {name} removed")


@operators.command("reset")
@click.argument("name")
@pass_ctx
def operators_reset(ctx: Context, name: str) -> None:
    """A new one-time password for an operator (their sessions end, a lock is lifted)."""
    from tfs.console import usecases as console

    try:
        secret = console.reset_operator(ctx.store, name)
    except console.OperatorNotFound as exc:
        _fail(f"{exc} (`tfs operators list` shows them)", EXIT_REFUSED)
    click.echo(f"operator {name}: new one-time password (shown once): {secret}")


COMMANDS = (operators,)
