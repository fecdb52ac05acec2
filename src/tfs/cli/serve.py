"""`tfs serve` and `tfs db`: run the HTTP service, migrate its database."""

from __future__ import annotations

import os
import shutil
import tempfile

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

    # Before anything imports prometheus-client, which reads it once: with several workers their
    # metrics meet in a fresh private folder (removed at exit); one process keeps them in memory.
    metrics_dir = _metrics_dir(workers if ctx.settings.metrics else 1)
    from tfs.api.server import PROTOCOL  # (it imports prometheus-client, through the app)

    ctx.store  # noqa: B018 - migrates or refuses before any worker starts
    # Worker processes read their settings from the environment; tell them how many there are
    # (one process on SQLite may keep rate-limit counters in memory).
    os.environ["TFS_WORKERS"] = str(workers)
    origin = f"http://{host}:{port}"
    metrics = f"  metrics:   {origin}/metrics\n" if ctx.settings.metrics else ""
    click.echo(
        f"TFS serving {origin}{ctx.settings.base_path}\n"
        f"  API docs:  {origin}/docs   (OpenAPI: {origin}/openapi.json)\n"
        f"  health:    {origin}/health, {origin}/ready\n"
        f"  console:   {origin}{ctx.settings.base_path}/console"
        "   (operators: tfs operators add NAME)\n"
        f"{metrics}"
        "  Ctrl-C stops it.",
        err=True,
    )
    try:
        uvicorn.run(
            "tfs.api.app:create_app_from_env",
            factory=True,
            http=PROTOCOL,  # uvicorn's httptools protocol with the connection limits
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir(workers: int) -> str | None:
    """PROMETHEUS_MULTIPROC_DIR for the workers: a new empty folder only this user can read,
    whatever the environment held (a folder left from another run would add its counts)."""
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if workers <= 1:
        return None
    path = tempfile.mkdtemp(prefix="tfs-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


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
