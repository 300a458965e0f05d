"""The layout holds: layers as pyproject.toml's import-linter contracts say, modules and functions of a
readable size, and no production function kept alive only by tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("ledger", "api", "signer", "cli")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Called by frameworks, not by our code: Alembic, SQLAlchemy event listeners, pyHanko's signer interface,
# eth-account's account and key interfaces, uvicorn's app factory (named by a string), prometheus-client's collectors.
FRAMEWORK_HOOKS = {"downgrade", "upgrade", "_on_connect", "_on_begin", "build_attr_value", "signed_attr_providers",
                   "async_sign_raw", "sign_msg_hash", "sign_message", "served_app", "collect",
                   "process_result_value"}
# Built ahead of the issue that calls it; an entry must go when its caller lands (the test says so).
AWAITING_CALLER = {
    "pin_check": "issue 15: readiness and IPFS Cluster pinning",
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PRODUCTION for p in (ROOT / pkg).rglob("*.py") if "versions" not in p.parts)


def test_import_layers_hold() -> None:
    """lint-imports checks the contracts in pyproject.toml: layers and no cycles between sibling modules."""
    done = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """The contracts are not vacuous: ledger.core importing ledger.storage is refused."""
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    probe = ROOT / "ledger" / "core" / "_layer_probe.py"
    probe.write_text("from ledger.storage import models  # noqa: F401\n", encoding="utf-8")
    try:
        (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
        done = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--config",
                               str(tmp_path / "pyproject.toml"), "--no-cache"], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    finally:
        probe.unlink()
    assert done.returncode != 0
    assert "ledger.core is not allowed to import ledger.storage" in done.stdout


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_readable(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it along its jobs"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {length} lines"


def test_no_function_is_kept_alive_only_by_tests() -> None:
    """vulture over the production packages and the benchmarks (not the tests): every function is used."""
    done = subprocess.run(
        [sys.executable, "-m", "vulture", *PRODUCTION, "benchmarks", "--min-confidence", "60",
         "--exclude", "*/migrations/versions/*",
         "--ignore-decorators", "@router.*,@app.*,@*.get,@*.post,@*.put,@*.delete,@event.listens_for,@*.command",
         "--ignore-names", ",".join(sorted(FRAMEWORK_HOOKS))],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    unused = {line.split("'")[1]: line for line in done.stdout.splitlines()
              if "unused function" in line or "unused method" in line or "unused class" in line}
    dead = [line for name, line in unused.items() if name not in AWAITING_CALLER]
    assert not dead, "\n".join(dead)
    called = sorted(set(AWAITING_CALLER) - set(unused))
    assert not called, f"now used, remove from AWAITING_CALLER: {called}"
