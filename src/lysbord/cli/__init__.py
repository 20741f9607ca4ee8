"""The command line: serve, demo, check, user."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from lysbord.bootstrap import build_context, open_existing
from lysbord.cli.users import app as user_app
from lysbord.config import Settings, load_settings
from lysbord.domain.errors import LysbordError
from lysbord.services.core.context import Context

app = typer.Typer(
    help="Lysbord: regional RIS/PACS.", no_args_is_help=True, pretty_exceptions_enable=False
)
console = Console()
app.add_typer(user_app, name="user")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Data directory [./var]")]
DbUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL")]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="TOML settings file")]


def _settings(config: Path | None, **flags: object) -> Settings:
    try:
        return load_settings(config, **flags)
    except LysbordError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    config: ConfigFile = None,
    http_port: Annotated[
        int | None, typer.Option(help="HTTP port [8300]", min=0, max=65535)
    ] = None,
    dicom_port: Annotated[
        int | None, typer.Option(help="DICOM port [11112]", min=0, max=65535)
    ] = None,
    hl7_port: Annotated[
        int | None, typer.Option(help="HL7 MLLP port [2575]", min=0, max=65535)
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on [127.0.0.1]")] = None,
) -> None:
    """Serve every door: HTTP (REST API, web pages, DICOMweb and the viewer), DICOM and HL7."""
    from lysbord.server import serve as run

    settings = _settings(
        config,
        data_dir=data_dir,
        database_url=database_url,
        http_port=http_port,
        dicom_port=dicom_port,
        hl7_port=hl7_port,
        http_host=host,
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        run(build_context(settings))
    except LysbordError as exc:  # a port in use, say: one line, no traceback
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None


@app.command()
def demo(
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    config: ConfigFile = None,
    scale: Annotated[float, typer.Option(help="1.0 = 5,000 patients", min=0.001, max=20)] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed")] = 2026,
    if_empty: Annotated[bool, typer.Option(help="Do nothing if a region exists")] = False,
) -> None:
    """Create the capital region's demo: 9 hospitals, their rooms and a year of slots, patients
    with referrals in every state, the images and reports of their examinations, report
    templates, a room roster, one user per role, and the scanners' DICOM peers."""
    from lysbord.demo import build_demo, region_exists
    from lysbord.demo.peers_file import write_peers_file
    from lysbord.demo.reading_setup import build_reading_setup
    from lysbord.services.operations.region import list_sites

    ctx = build_context(_settings(config, data_dir=data_dir, database_url=database_url))
    try:
        if region_exists(ctx):
            if if_empty:
                console.print("A region exists already: demo not created again.")
                return
            console.print("[red]A region exists already; use an empty database.[/red]")
            raise typer.Exit(1)
        build_demo(ctx, scale=scale, seed=seed, console=console)
        _demo_users(ctx)
        templates, rostered = build_reading_setup(ctx)  # the roster names the demo users
        console.print(f"Report templates: {templates}; roster entries: {rostered}")
        toml = ctx.settings.data_dir / "lysbord.toml"
        if config is None and write_peers_file(toml, list_sites(ctx)):
            console.print(f"DICOM peers (the scanners, DCMTK's default AE titles) in {toml}")
    finally:
        ctx.db.dispose()


def _demo_users(ctx: Context) -> None:
    from lysbord.demo.users import create_demo_users, write_demo_users

    users = create_demo_users(ctx)
    table = Table("username", "password", "role", title="Demo users (sign in at /login)")
    for username, password, role in users:
        table.add_row(username, password, role.value)
    console.print(table)
    saved = ctx.settings.data_dir / "demo-users.txt"
    write_demo_users(saved, users)
    console.print(f"The same list is in {saved}")


@app.command()
def check(
    data_dir: DataDir = None,
    database_url: DbUrl = None,
    config: ConfigFile = None,
    skip_blobs: Annotated[
        bool, typer.Option("--skip-blobs", help="Do not read every image blob (the slow rule)")
    ] = False,
) -> None:
    """Prove the invariants over the whole database and archive; exit 1 if one is broken."""
    from lysbord.services.operations.check import run_checks
    from lysbord.services.operations.status import record_check

    try:
        ctx = open_existing(_settings(config, data_dir=data_dir, database_url=database_url))
    except LysbordError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("reading image blobs", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            findings = run_checks(ctx, blobs=not skip_blobs, progress=progress)
        record_check(ctx, findings, skipped_blobs=skip_blobs, actor="cli")
    finally:
        ctx.db.dispose()
    table = Table("rule", "result", title="lysbord check")
    for f in findings:
        table.add_row(
            f.rule, "[green]holds[/green]" if f.count == 0 else f"[red]{f.count} broken[/red]"
        )
    console.print(table)
    broken = [f for f in findings if f.count]
    for f in broken:
        console.print(f"[bold red]{f.rule}[/bold red]")
        for example in f.examples:
            console.print(f"  - {example}")
    if skip_blobs:
        console.print("Image blobs not read (--skip-blobs).")
    if broken:
        raise typer.Exit(1)
    console.print("[green]All invariants hold.[/green]")
