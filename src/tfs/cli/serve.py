"""`tfs serve` and `tfs db`: run the HTTP service, migrate its database."""

from __future__ import annotations

import os

import click

from tfs.cli.context import Context, pass_ctx
from tfs.db.engine import upgrade


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
    """Run the HTTP service (an empty SQLite database is migrated first)."""
    import uvicorn

    ctx.store  # noqa: B018 - migrates or refuses before any worker starts
    # Worker processes read their settings from the environment; tell them how many there are
    # (one process on SQLite may keep rate-limit counters in memory).
    os.environ["TFS_WORKERS"] = str(workers)
    origin = f"http://{host}:{port}"
    click.echo(
        f"TFS serving {origin}{ctx.settings.base_path}\n"
        f"  API docs:  {origin}/docs   (OpenAPI: {origin}/openapi.json)\n"
        f"  health:    {origin}/health, {origin}/ready\n"
        "  Ctrl-C stops it.",
        err=True,
    )
    uvicorn.run(
        "tfs.api.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )


@click.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Apply every migration not yet applied."""
    upgrade(ctx.settings.database_url)
    click.echo("database is at the latest migration")


COMMANDS = (serve, db)
