"""``certledger plan-targets``: the city plan's targets as a table (or JSON), and the monthly report anchored."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from cli.app import ORGANIZATIONS, _library, _write_json, app, console


def _table(figures: dict) -> Table:
    table = Table(title=f"城市规划指标 / the city plan's targets ({figures['as_of']})")
    for col in ("指标 target", "完成 figure", "目标 goal", "比例 share", "缺项 missing"):
        table.add_column(col, justify="right" if col[0] in "完目比缺" else "left")
    for t in figures["targets"]:
        colour = "green" if t["meets_target"] else "yellow"
        table.add_row(t["title"], f"{t['figure']:,}", f"{t['target']:,}", f"[{colour}]{t['share']:.1%}[/]",
                      str(len(t["missing"])))
    return table


@app.command("plan-targets", rich_help_panel=ORGANIZATIONS)
def plan_targets_cmd(
    as_json: bool = typer.Option(False, "--json", help="print everything (missing lists, per department, the daily "
                                 "series) as JSON"),
    days: int = typer.Option(30, "--days", min=1, max=366, help="days of the daily series"),
    anchor: bool = typer.Option(False, "--anchor", help="store the month's report and queue it for anchoring by the "
                                "audit writer (the worker anchors it; certledger anchor --now at once)"),
    month: Optional[str] = typer.Option(None, "--month", help="YYYY-MM for --anchor: a month that is over "
                                        "(default: the previous month)"),
) -> None:
    """The city plan's targets, measured live (figure, target, share, what is missing); --anchor for a month's report."""
    from ledger.plan.monthly import anchor_month
    from ledger.plan.targets import plan_targets

    lib = _library()
    if anchor:
        _write_json(anchor_month(lib, month), None)
        return
    figures = plan_targets(lib, days=days)
    if as_json:
        _write_json(figures, None)
        return
    console.print(_table(figures))
    for t in figures["targets"]:
        for m in t["missing"][:10]:
            console.print(f"  {t['key']}: {m['code']} {m['name']} ({m['department_name'] or '-'}) {m['note']}")
        if len(t["missing"]) > 10:
            console.print(f"  {t['key']}: … {len(t['missing']) - 10} more (--json lists them all)")
