"""Loading a department's existing records (导入部门存量证照) from its own system's export: ``certledger import``,
and ``certledger sample-import`` to make a file to try it with (docs/import.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from cli.app import CERTIFICATES, _library, _organization, app, console, err_console


def _type_and_department(lib: Any, type_code: str) -> tuple[Any, Any]:
    """The certificate type and its defining department (the only one that issues it)."""
    from sqlalchemy import select

    from ledger.core.errors import BadInput
    from ledger.storage.models import CertificateType

    with lib.sessions() as session:
        ctype = session.scalar(select(CertificateType).where(CertificateType.code == type_code))
    if ctype is None:
        raise BadInput("type_code_unknown", f"没有代码为 {type_code} 的证照类型 / no certificate type has code "
                       f"{type_code}; GET /admin/certificate-types lists them", type_code=type_code)
    return ctype, lib.organization(ctype.department_id)


@app.command("import", rich_help_panel=CERTIFICATES)
def import_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (UTF-8 or GB18030), XLSX or JSON Lines"),
    type_code: str = typer.Option(..., "--type", help="the certificate type's code (21 characters)"),
    org: Optional[str] = typer.Option(None, "--org", help="the department's credit code (default: the type's own)"),
    fmt: Optional[str] = typer.Option(None, "--format", help="csv | xlsx | jsonl (default: from the file's suffix)"),
    errors: Optional[Path] = typer.Option(None, "--errors", help="the error report (default: FILE.errors.csv)"),
    chunk: int = typer.Option(2_000, "--chunk", min=1, max=10_000, help="rows issued per transaction"),
) -> None:
    """Import a department's records: every good row issued and queued for anchoring, every bad row reported.

    Run it again after a stop: rows already stored are skipped, so each row is stored once.
    """
    from ledger.issue.import_files import count_rows, format_of
    from ledger.issue.importer import create_job, run_job, write_errors

    lib = _library()
    ctype, department = _type_and_department(lib, type_code)
    department = _organization(lib, org) if org else department
    fmt = format_of(file, fmt)
    job_id = create_job(lib, department, type_code, str(file), fmt)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]:,.0f} 行/s rows/s"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task(f"导入 importing {ctype.name}", total=count_rows(file, fmt), rate=0.0)

        def shown(summary: Any) -> None:
            elapsed = progress.tasks[0].elapsed or 1e-9
            progress.update(task, completed=summary.read, rate=summary.read / elapsed)

        try:
            summary = run_job(lib, department, job_id, file, chunk=chunk, on_progress=shown)
        finally:
            report = errors or file.with_name(file.name + ".errors.csv")
            problems = write_errors(lib, job_id, report)
    console.print(f"job {summary.job_id}: 读取 read {summary.read}, 存入 stored {summary.stored}, "
                  f"跳过 skipped {summary.skipped} (already stored), 拒绝 refused {summary.failed}")
    if problems:
        err_console.print(f"错误报告 {report}：{summary.failed} 行共 {problems} 处问题（行号、列、原因）。 / "
                          f"{problems} problems in {summary.failed} rows: {report}")
    else:
        report.unlink(missing_ok=True)
    err_console.print("已存入的证照已排队上链：锚定进程随即锚定本次导入的剩余部分，不必等满一批。 / "
                      "The stored rows are queued: the anchoring worker anchors the rest of this import at once, "
                      "without waiting for a full batch or the batch age.")


@app.command("sample-import", rich_help_panel=CERTIFICATES)
def sample_import(
    type_code: str = typer.Option(..., "--type", help="the certificate type's code"),
    rows: int = typer.Option(1_000, "--rows", min=1, help="how many records"),
    start: int = typer.Option(0, "--start", min=0, help="the first record's sequence number"),
    bad_every: int = typer.Option(0, "--bad-every", min=0, help="every Nth record has a mistake (0: none)"),
    fmt: str = typer.Option("csv", "--format", help="csv | jsonl"),
) -> None:
    """Write a sample export of a certificate type to stdout (Chinese column headers), to try `certledger import`."""
    from ledger.issue.import_samples import headers, sample_rows, write_sample

    ctype, _ = _type_and_department(_library(), type_code)
    write_sample(sys.stdout, fmt, sample_rows(ctype.code, ctype.fields, ctype.holder_kind, rows, start=start,
                                              bad_every=bad_every), headers(ctype.fields))
