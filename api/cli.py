"""The `minhbach` command (DESIGN §8), built on Typer; progress bars from Rich."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from domain.business_dates import DATE_BASES
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings

app = typer.Typer(help="Minh Bạch — sổ cái minh bạch / the transparent donation ledger",
                  no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
projections_app = typer.Typer(help="Read models", no_args_is_help=True)
app.add_typer(token_app, name="token")
audit_app = typer.Typer(help="Verify the log (DESIGN §5)", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(audit_app, name="audit")
report_app = typer.Typer(help="Reports", no_args_is_help=True)
app.add_typer(report_app, name="report")
publish_app = typer.Typer(help="Publish the public log as static files", no_args_is_help=True)
app.add_typer(publish_app, name="publish")
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def _services() -> CompositionRoot:
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
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(min=1, max=64, help=(
              "worker processes; with more than one, run the projections apart"
              " (MINHBACH_RUN_PROJECTIONS=false and `minhbach project`)"))] = 1,
          demo_witnesses: Annotated[bool, typer.Option(
              "--demo-witnesses", help="also run the demo's three witnesses (Fatherland Front,"
                                       " Women's Union, Red Cross; 2 of 3 must cosign), each its"
                                       " own process, unless MINHBACH_WITNESSES is set")] = False,
) -> None:
    """Serve the API and the public page."""
    import os

    import uvicorn

    from api.app import create_app

    settings = Settings()
    witnesses = None
    if demo_witnesses and settings.witnesses:
        console.print("MINHBACH_WITNESSES is set: its witnesses count, the demo's don't start")
    elif demo_witnesses:
        from ledger import demo_witnesses as demo

        witnesses = demo.prepare(settings.data_dir)
        # In the environment, so that every worker process reads the same policy.
        os.environ["MINHBACH_WITNESSES"] = demo.setting(witnesses)
        os.environ["MINHBACH_WITNESS_QUORUM"] = str(demo.QUORUM)
        settings = Settings()
        console.print(f"demo witnesses: {', '.join(w.name for w in witnesses)};"
                      f" a tree head is published once {demo.QUORUM} of them have cosigned it")
    # Each worker process builds its own app (and reads the same MINHBACH_* settings).
    config = uvicorn.Config(create_app(settings) if workers == 1 else "api.app:create_app",
                            factory=workers > 1, workers=workers, host=host, port=port,
                            log_level="info", access_log=settings.access_log)
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(_tcp_socket(host, port))
        # Listening before the witnesses start: their first request waits in the backlog until
        # the server answers, instead of failing.
        sock.listen(config.backlog)
        console.print(f"serving on http://{host}:{port} with {workers} worker(s)")
        if witnesses is not None:
            from adapters.signing import load_signing_key, public_key_hex

            log_key = public_key_hex(load_signing_key(settings.data_dir, settings.signing_key_hex))
            stack.enter_context(demo.running(witnesses, f"http://{host}:{port}", log_key,
                                             settings.checkpoint_origin))
        if workers == 1:
            uvicorn.Server(config).run(sockets=[sock])
        else:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[sock]).run()


def _tcp_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound. uvicorn's own has protocol 0, and asyncio sets TCP_NODELAY
    only on sockets that say IPPROTO_TCP: every answer then waited ~40 ms for the client's
    delayed ACK."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who holds the token")],
    role: Annotated[str, typer.Option(help="admin, finance, district or auditor")],
    district: Annotated[str | None, typer.Option(help="district code, for the district role")] = None,
    expires_in: Annotated[str | None, typer.Option(
        help="valid for this long: 30d, 12h, 90m, 2w (default: until revoked)")] = None,
) -> None:
    """Make a token; it is printed once, alone on the last line. One the name held before stops
    working at once."""
    from adapters.tokens import create_token, parse_duration

    try:
        lifetime = parse_duration(expires_in) if expires_in is not None else None
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    svc = _services()
    try:
        if district:
            svc.areas.district(district)
        token = create_token(svc.db, name=name, role=role, district=district, expires_in=lifetime)
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    finally:
        svc.close()
    until = f", valid for {expires_in}" if expires_in else ""
    print(f"token for {name} ({role}{until}); it is not stored and won't be shown again:")
    print(token, flush=True)


@token_app.command("list")
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per token")] = False,
) -> None:
    """Every token's holder, role, district and times (created, expires, last used, revoked);
    never the token or its hash."""
    from dataclasses import asdict

    from adapters.tokens import list_tokens

    svc = _services()
    try:
        found = list_tokens(svc.db)
    finally:
        svc.close()
    if as_json:
        for info in found:
            print(json.dumps(asdict(info), ensure_ascii=False))
        return
    head = ("name", "role", "district", "created", "expires", "last used", "revoked")
    rows = [head, *((i.name, i.role, i.district or "-", _minute(i.created_at), _minute(i.expires_at),
                     _minute(i.last_used_at), _minute(i.revoked_at)) for i in found)]
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _minute(iso: str | None) -> str:
    """An ISO time to the minute, in UTC ("-" for none)."""
    return iso[:16].replace("T", " ") + "Z" if iso else "-"


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Option(help="whose token")]) -> None:
    """Revoke a token: every serving process refuses it from its next request."""
    from adapters.tokens import revoke_token

    svc = _services()
    try:
        found = revoke_token(svc.db, name)
    finally:
        svc.close()
    if not found:
        console.print(f"[red]no token is named {name!r}[/red] (see `minhbach token list`)")
        raise typer.Exit(1)
    console.print(f"token of {name} revoked")


@app.command()
def demo() -> None:
    """Load the demo of the 2021 Lạng Sơn plan into the store (once; a second run does nothing)."""
    from ledger.demo import load_demo
    from ledger.demo_bank import load_bank_demo

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
        bank = load_bank_demo(svc)
        if bank.get("new_statement_lines"):
            console.print("bank demo: " + ", ".join(f"{k} {v}" for k, v in bank.items()))
        _catch_up(svc, "projections")
    finally:
        svc.close()


def _catch_up(svc: CompositionRoot, what: str, *, rebuild: bool = False) -> int:
    """Bring the read models up to the log (or rebuild them); exit 1 if a projection stops."""
    from projections.runner import ProjectionFailed

    total_events = svc.ledger.recorder.max_notification_id() or 0
    try:
        with _progress() as bar:
            task = bar.add_task(what, total=total_events,
                                completed=0 if rebuild else svc.runner.position())
            step = svc.runner.rebuild if rebuild else svc.runner.catch_up
            return step(lambda n: bar.advance(task, n))
    except ProjectionFailed as e:
        console.print(f"[red]{'rebuild failed' if rebuild else 'catching up failed'}: {e}[/red]")
        console.print("the read models are as they were before the rebuild" if rebuild else
                      f"projection {e.name} has applied the log up to position {e.stopped_at}")
        raise typer.Exit(1) from e


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[list[str] | None, typer.Argument(help="projections to rebuild; all if none")] = None,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="worker processes, each rebuilding a group of projections"
                            " (PostgreSQL; SQLite has one writer)")] = 1,
) -> None:
    """Drop read models and rebuild them from position 0, in one transaction (one per worker):
    if an event can't be applied, the rebuild says which and those read models are left as they
    were."""
    from projections.read_models import UnknownProjection, all_projections, select_projections

    try:
        chosen = select_projections(all_projections(), name) if name else None
    except UnknownProjection as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    svc = _services()
    try:
        if chosen is not None:
            svc.runner.projections = chosen
        names = ", ".join(p.name for p in svc.runner.projections)
        if workers > 1 and svc.db.dialect == "postgresql":
            count = _rebuild_in_parallel(svc, workers)
        else:
            if workers > 1:
                console.print("SQLite allows one writer: rebuilding in one worker")
            count = _catch_up(svc, f"rebuild {names}", rebuild=True)
        console.print(f"rebuilt from {count} events")
    finally:
        svc.close()


def _rebuild_in_parallel(svc: CompositionRoot, workers: int) -> int:
    from ledger.rebuild import rebuild_in_parallel
    from projections.runner import ProjectionFailed

    names = [p.name for p in svc.runner.projections]
    try:
        return rebuild_in_parallel(
            svc.settings, names, workers, services=svc,
            done=lambda group, n: console.print(f"rebuilt {', '.join(group)} from {n} events"))
    except ProjectionFailed as e:
        console.print(f"[red]rebuild failed: {e}[/red]")
        console.print("that projection's read models are as they were before the rebuild")
        raise typer.Exit(1) from e


@audit_app.command("verify")
def audit_verify(
    trusted_head: Annotated[str | None, typer.Option(
        "--trusted-head", help="a head you kept (STH JSON or checkpoint note): prove the log extends "
        "it and check only what came after it (see --full)")] = None,
    full: Annotated[bool, typer.Option(
        "--full", help="with --trusted-head: check the whole log as well")] = False,
) -> None:
    """Recompute leaves and roots, check tree heads and cosignatures, replay every projection and
    compare.

    With --trusted-head, a head you verified before: its stored tree must have its root, its
    last leaf must be the stored event there, and only the events after it are rebuilt and
    hashed; the tree heads after it (signatures, roots, consistency from it to the latest) and
    their cosignatures are checked, and the live trial balance. The projections are not
    replayed then (that needs the whole log: add --full)."""
    from pathlib import Path

    from ledger.audit import verify

    kept = Path(trusted_head).read_bytes() if trusted_head else None
    svc = _services()
    try:
        with _progress() as bar:
            task = bar.add_task("verify", total=svc.ledger.recorder.max_notification_id() or 0)
            report = verify(svc, lambda n: bar.advance(task, n), trusted_head=kept, full=full)
    finally:
        svc.close()
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"{report.events} events, {report.tree_heads} tree heads: "
          + ("all verified" if report.ok else f"{len(report.problems)} problems"))
    if not report.ok:
        raise typer.Exit(1)


By = Annotated[str, typer.Option(
    "--by", help="business: entries on the day they happened (a receipt on the day it was"
                 " received); recorded: on the day they were recorded")]


def _check_by(by: str) -> None:
    if by not in DATE_BASES:
        raise typer.BadParameter(f"--by is one of {', '.join(DATE_BASES)}, not {by!r}")


@audit_app.command("replay")
def audit_replay(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD (end of day, UTC)")],
    by: By = "recorded",
) -> None:
    """Fund and programme balances as they stood at a date, rebuilt from the log alone."""
    _check_by(by)

    from ledger.audit import replay_balances

    svc = _services()
    try:
        balances = replay_balances(svc, as_of, by)
    finally:
        svc.close()
    print(json.dumps({"as_of": as_of, "by": by, **balances}, ensure_ascii=False, indent=2))


@audit_app.command("export")
def audit_export(
    out: Annotated[str, typer.Option("--out", help="JSON Lines file to write (replaced if it exists)")],
    public: Annotated[bool, typer.Option(
        "--public", help="every public leaf, no stored event: the export anyone may download")] = False,
) -> None:
    """Write the log and a freshly signed tree head as JSON Lines (check: tools/verify_export.py).

    Without --public: every event in full, personal data included, for auditors only. With
    --public: the same bytes as GET /api/v1/public/export for that head.
    """
    from pathlib import Path

    from ledger.export import export_log, export_public

    svc = _services()
    try:
        _catch_up(svc, "projections")
        with _progress() as bar:
            task = bar.add_task("export", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = (export_public if public else export_log)(svc, Path(out), step)
    except (LookupError, RuntimeError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    finally:
        svc.close()
    if public:
        print(f"exported {summary['leaves']} leaves (the public export: no stored event) to "
              f"{summary['path']} ({summary['bytes']} bytes)")
    else:
        print(f"exported {summary['events']} events to {summary['path']} ({summary['bytes']} bytes)")
    print(f"tree size {summary['tree_size']}, root {summary['root_hash']}")
    print(f"public key (Ed25519) {summary['public_key']}")


@publish_app.command("tiles")
def publish_tiles(
    directory: Annotated[str, typer.Argument(help="directory to serve as the log's URL prefix")],
    origin: Annotated[str, typer.Option(
        "--origin", help="the checkpoint's origin line: the URL prefix served, without scheme")] = "",
) -> None:
    """Write the public log as C2SP tlog-tiles: checkpoint, hash tiles and entry bundles.

    Incremental: files already there are kept, only new tiles and the checkpoint are written.
    """
    from pathlib import Path

    from domain.checkpoint import DEFAULT_ORIGIN
    from ledger.publish import publish_tiles as publish

    svc = _services()
    try:
        _catch_up(svc, "projections")
        with _progress() as bar:
            task = bar.add_task("tiles", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = publish(svc, Path(directory), step, origin=origin or DEFAULT_ORIGIN)
    except (LookupError, RuntimeError) as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(1) from e
    finally:
        svc.close()
    print(f"published tree size {summary['tree_size']}, root {summary['root_hash']} to "
          f"{summary['path']}: {len(summary['written'])} files written, {summary['kept']} kept")
    print(f"checkpoint origin {summary['origin']}, public key (Ed25519) {summary['public_key']}")


@app.command("import-statement")
def import_statement(
    file: Annotated[str, typer.Argument(help="the statement: CSV, XLSX or camt.053 XML")],
    account: Annotated[str, typer.Option(help="the bank account's code")],
    format: Annotated[str | None, typer.Option(help="csv, xlsx or camt053; detected if not given")] = None,
) -> None:
    """Import a bank statement and match its lines to the ledger (idempotent: re-import adds nothing)."""
    import uuid
    from pathlib import Path

    from adapters.statements import StatementError
    from domain.errors import DomainError
    from domain.meta import Context
    from ledger.statement_import import import_file
    from projections.runner import ProjectionFailed

    data = Path(file).read_bytes()
    svc = _services()
    ctx = Context(actor="cli", role="finance", request_id=str(uuid.uuid4()))
    try:
        _catch_up(svc, "projections")
        with _progress() as bar:
            task = bar.add_task("sao kê / statement", total=None)
            answer = import_file(svc, ctx, "", account, data, format, Path(file).name,
                                 lambda done, total: bar.update(task, completed=done, total=total))
    except (StatementError, DomainError, ProjectionFailed) as e:
        console.print(f"[red]{getattr(e, 'code', 'error')}: {e}[/red]")
        raise typer.Exit(1) from e
    finally:
        svc.close()
    # Every statement of the file is reported, as the API does; ids print as text.
    print(json.dumps(answer, indent=2, default=str, ensure_ascii=False))


@report_app.command("reconciliation")
def report_reconciliation(
    account: Annotated[str, typer.Option(help="the bank account's code")],
    start: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")] = "1900-01-01",
    end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (default: today)")] = None,
    format: Annotated[str, typer.Option(help="text, json, csv or xlsx")] = "text",
    out: Annotated[str | None, typer.Option(help="file to write (csv and xlsx)")] = None,
    check: Annotated[bool, typer.Option("--check", help="exit with status 3 unless reconciled")] = False,
) -> None:
    """The bank balance against the ledger's, with what is left to match."""
    import datetime as dt
    from pathlib import Path

    from domain.text import format_vnd
    from ledger import reports

    svc = _services()
    try:
        _catch_up(svc, "projections")
        row = svc.bank_queries.account(account)
        if row is None:
            console.print(f"[red]no bank account {account!r}[/red]")
            raise typer.Exit(1)
        report = svc.bank_queries.reconciliation(row, start, end or dt.date.today().isoformat())
    finally:
        svc.close()
    if format in ("csv", "xlsx"):
        body = reports.reconciliation_csv(report) if format == "csv" else reports.reconciliation_xlsx(report)
        if out is None:
            console.print("[red]--out FILE is needed for csv and xlsx[/red]")
            raise typer.Exit(2)
        Path(out).write_bytes(body)
        print(f"wrote {out}")
    elif format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"Đối soát tài khoản {report['account']} ({report['fund']}), {report['from']} → {report['to']}")
        for key, label in (("opening_balance_vnd", "Số dư đầu kỳ / opening"),
                           ("bank_balance_vnd", "Số dư ngân hàng / bank"),
                           ("ledger_balance_vnd", "Số dư sổ cái / ledger"),
                           ("difference_vnd", "Chênh lệch / difference")):
            print(f"  {label:32} {format_vnd(report[key]):>22}")
        print(f"  {'Đã khớp / matched':32} {report['matched']:>22}")
        for key, label in (("unmatched_bank_lines", "Dòng ngân hàng chưa khớp / unmatched bank lines"),
                           ("unmatched_ledger_entries", "Bút toán chưa khớp / unmatched ledger entries"),
                           ("suggestions", "Gợi ý chờ xác nhận / suggestions pending")):
            print(f"  {label}: {len(report[key])}")
        print(reports.verdict(report))
    if check and not report["reconciled"]:
        raise typer.Exit(3)


@app.command()
def project(
    name: Annotated[list[str] | None, typer.Argument(help="projections to run; all if none")] = None,
) -> None:
    """Run projection workers in this process until interrupted (for PostgreSQL deployments).

    A projection that cannot apply an event is logged and stops; the others go on."""
    import logging

    from projections.read_models import UnknownProjection, all_projections, select_projections

    try:
        chosen = select_projections(all_projections(), name) if name else None
    except UnknownProjection as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from e
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    svc = _services()
    if chosen is not None:
        svc.runner.projections = chosen
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    names = [p.name for p in svc.runner.projections]
    console.print("following the log: " + ", ".join(names))
    try:
        if "merkle" in names:
            # The worker that keeps the Merkle tree also signs its heads (API processes with
            # MINHBACH_RUN_PROJECTIONS=false sign none).
            svc.start_projections()
            stop.wait()
        else:
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


def _plan_report(kind: str, build: Callable[[Any], dict[str, Any]], format: str,
                 out: str | None, by: str) -> dict[str, Any] | None:
    """Build one of the plan's reports (ledger/plan_reports.py) and write it as asked; the
    report for a text summary, else None."""
    from pathlib import Path

    from ledger import plan_reports

    if format not in ("text", "json", "csv", "xlsx"):
        console.print(f"[red]unknown format {format!r}: text, json, csv or xlsx[/red]")
        raise typer.Exit(2)
    _check_by(by)
    if format in ("csv", "xlsx") and out is None:
        console.print("[red]--out FILE is needed for csv and xlsx[/red]")
        raise typer.Exit(2)
    svc = _services()
    try:
        _catch_up(svc, "projections")
        report = build(svc)
    finally:
        svc.close()
    rows = getattr(plan_reports, f"{kind}_rows")
    if format in ("csv", "xlsx"):
        assert out is not None
        body = (plan_reports.table_csv(rows(report)) if format == "csv"
                else plan_reports.table_xlsx(rows(report), kind))
        Path(out).write_bytes(body)
        print(f"wrote {out}")
    elif format == "json":
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(plan_reports.table_text(rows(report)))
    return report


Start = Annotated[str, typer.Option("--from", help="YYYY-MM-DD")]
End = Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD (default: today)")]
Format = Annotated[str, typer.Option(help="text, json, csv or xlsx")]
Out = Annotated[str | None, typer.Option(help="file to write (csv and xlsx)")]


@report_app.command("mobilisation")
def report_mobilisation(start: Start = "1900-01-01", end: End = None, format: Format = "text",
                        out: Out = None, by: By = "business") -> None:
    """The report to the Department of Labour, Invalids and Social Affairs for a period."""
    from ledger.plan_reports import mobilisation_report

    _plan_report("mobilisation", lambda svc: mobilisation_report(svc, start, end or _today(), by),
                 format, out, by)


@report_app.command("recognition")
def report_recognition(start: Start = "1900-01-01", end: End = None, format: Format = "text",
                       out: Out = None, by: By = "business") -> None:
    """Donors ranked by what they gave in a period, with their commendation tiers."""
    from ledger.plan_reports import recognition_report

    _plan_report("recognition", lambda svc: recognition_report(svc, start, end or _today(), by),
                 format, out, by)


@report_app.command("pledges")
def report_pledges(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today)")] = None,
    format: Format = "text", out: Out = None, by: By = "business",
) -> None:
    """Pledges outstanding and overdue on a date."""
    from ledger.plan_reports import pledges_report

    _plan_report("pledges", lambda svc: pledges_report(svc, as_of or _today(), by), format, out, by)


def _today() -> str:
    import datetime as dt

    return dt.date.today().isoformat()


@app.command()
def witness(
    ledger: Annotated[str, typer.Option(help="the ledger's base URL, e.g. https://minhbach.example")],
    name: Annotated[str, typer.Option(help="this witness's key name, e.g. mttq.langson.vn/witness")],
    log_key: Annotated[str, typer.Option(help="the ledger's tree-head public key, 64 hex")],
    state: Annotated[str, typer.Option(help="this witness's state file (JSON)")] = "witness.json",
    key: Annotated[str, typer.Option(help="this witness's Ed25519 key, 32 raw bytes (made if absent)")]
        = "witness.key",
    origin: Annotated[str, typer.Option(help="the checkpoint origin line the ledger uses")]
        = "minhbach.langson.gov.vn/log",
    interval: Annotated[float, typer.Option(help="seconds between rounds")] = 10.0,
    once: Annotated[bool, typer.Option(help="one round, then exit")] = False,
) -> None:
    """Run a witness (DESIGN §5): cosign the ledger's checkpoints after checking each extends the
    last one cosigned. Exits 3 on a fork or rollback (record file beside the state file)."""
    import logging
    from pathlib import Path

    import httpx

    from adapters.signing import key_file
    from domain.checkpoint import cosignature_key_id, public_bytes
    from ledger.witness import Witness

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    private = key_file(Path(key))
    public = public_bytes(private)
    print(f"witness {name}: public key {public.hex()} (key id {cosignature_key_id(name, public).hex()});"
          f" give the ledger MINHBACH_WITNESSES='{name}={public.hex()}'")
    with httpx.Client(base_url=ledger.rstrip("/"), timeout=30) as client:
        w = Witness(name=name, key=private, state_file=Path(state), origin=origin,
                    log_public_key=bytes.fromhex(log_key), client=client)
        if once:
            result = w.step()
            print(f"{result.status} {result.tree_size if result.tree_size is not None else ''}"
                  f" {result.detail}".rstrip())
            raise typer.Exit(3 if result.status == "alarm" else 0)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        raise typer.Exit(w.run(interval, stop))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
