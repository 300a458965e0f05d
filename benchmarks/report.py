"""Print a benchmark's figures as a table and write them as one flat JSON object."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"


def report(name: str, figures: dict[str, float | int | str], targets: dict[str, str] | None = None) -> Path:
    """``targets`` maps a figure to its target, shown beside it (e.g. ``"<= 60000"``)."""
    targets = targets or {}
    table = Table(title=f"benchmarks.{name}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, value in figures.items():
        shown = f"{value:,.3f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        table.add_row(key, shown, targets.get(key, ""))
    Console().print(table)
    out = dict(figures)
    out["machine"] = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
