"""The `minhbach` command (DESIGN §8), built on Typer; progress bars from Rich."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.services import Services, build
from api.settings import Settings

app = typer.Typer(help="Minh Bạch — sổ cái minh bạch / the transparent donation ledger",
                  no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
projections_app = typer.Typer(help="Read models", no_args_is_help=True)
app.add_typer(token_app, name="token")
audit_app = typer.Typer(help="Verify the log (DESIGN §5)", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def _services() -> Services:
    settings = Settings()
    settings.run_projections = False
    return build(settings)


@app.command()
def migrate() -> None:
    """Bring an empty or older database up to date (safe to run twice)."""
    svc = _services()
    console.print(f"database up to date: {svc.settings.resolved_database_url.split('@')[-1]}")
    svc.close()


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and the public page."""
    import uvicorn

    from api.app import create_app

    settings = Settings()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                access_log=settings.access_log)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who holds the token")],
    role: Annotated[str, typer.Option(help="admin, finance, district or auditor")],
    district: Annotated[str | None, typer.Option(help="district code, for the district role")] = None,
) -> None:
    """Make a token; it is printed once, alone on the last line."""
    from api.tokens import create_token

    svc = _services()
    try:
        if district:
            svc.areas.district(district)
        token = create_token(svc.db, name=name, role=role, district=district)
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    finally:
        svc.close()
    print(f"token for {name} ({role}); it is not stored and won't be shown again:")
    print(token, flush=True)


@app.command()
def demo() -> None:
    """Load the demo of the 2021 Lạng Sơn plan into the store (once; a second run does nothing)."""
    from api.demo import load_demo

    svc = _services()
    try:
        with _progress() as bar:
            task = bar.add_task("demo data (dữ liệu mẫu)", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            counts = load_demo(svc.ledger, progress=step)
        if counts.get("skipped"):
            console.print("demo data already loaded; nothing added")
        else:
            console.print("demo loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        _catch_up(svc, "projections")
    finally:
        svc.close()


def _catch_up(svc: Services, what: str, *, rebuild: bool = False) -> int:
    total_events = svc.ledger.recorder.max_notification_id() or 0
    with _progress() as bar:
        task = bar.add_task(what, total=total_events,
                            completed=0 if rebuild else svc.runner.position())
        step = svc.runner.rebuild if rebuild else svc.runner.catch_up
        return step(lambda n: bar.advance(task, n))


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[list[str] | None, typer.Argument(help="projections to rebuild; all if none")] = None,
) -> None:
    """Drop read models and rebuild them from position 0."""
    svc = _services()
    try:
        if name:
            svc.runner.projections = [p for p in svc.runner.projections if p.name in name]
        names = ", ".join(p.name for p in svc.runner.projections)
        count = _catch_up(svc, f"rebuild {names}", rebuild=True)
        console.print(f"rebuilt from {count} events")
    finally:
        svc.close()


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute leaves and roots, check tree heads, replay every projection and compare."""
    from api.audit import verify

    svc = _services()
    try:
        with _progress() as bar:
            task = bar.add_task("verify", total=svc.ledger.recorder.max_notification_id() or 0)
            report = verify(svc, lambda n: bar.advance(task, n))
    finally:
        svc.close()
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"{report.events} events, {report.tree_heads} tree heads: "
          + ("all verified" if report.ok else f"{len(report.problems)} problems"))
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("replay")
def audit_replay(as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD (end of day, UTC)")]) -> None:
    """Fund and programme balances as they stood at a date, rebuilt from the log alone."""
    import json

    from api.audit import replay_balances

    svc = _services()
    try:
        balances = replay_balances(svc, as_of)
    finally:
        svc.close()
    print(json.dumps({"as_of": as_of, **balances}, ensure_ascii=False, indent=2))


@audit_app.command("export")
def audit_export(
    out: Annotated[str, typer.Option("--out", help="JSON Lines file to write (replaced if it exists)")],
) -> None:
    """Write the whole log and a freshly signed tree head as JSON Lines (check: tools/verify_export.py)."""
    from pathlib import Path

    from api.export import export_log

    svc = _services()
    try:
        _catch_up(svc, "projections")
        with _progress() as bar:
            task = bar.add_task("export", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = export_log(svc, Path(out), step)
    except (LookupError, RuntimeError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    finally:
        svc.close()
    print(f"exported {summary['events']} events to {summary['path']} ({summary['bytes']} bytes)")
    print(f"tree size {summary['tree_size']}, root {summary['root_hash']}")
    print(f"public key (Ed25519) {summary['public_key']}")


@app.command()
def project(
    name: Annotated[list[str] | None, typer.Argument(help="projections to run; all if none")] = None,
) -> None:
    """Run projection workers in this process until interrupted (for PostgreSQL deployments)."""
    svc = _services()
    if name:
        svc.runner.projections = [p for p in svc.runner.projections if p.name in name]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print("following the log: " + ", ".join(p.name for p in svc.runner.projections))
    try:
        svc.runner.follow(stop)
    except KeyboardInterrupt:
        pass
    finally:
        svc.close()


@app.command()
def bench(
    quick: Annotated[bool, typer.Option(help="small sizes, under five minutes")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON list of figures")] = False,
) -> None:
    """Measure the figures of BENCHMARKS.md next to their baselines."""
    from bench.run import main as run_bench

    run_bench(quick=quick, as_json=json_out)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
