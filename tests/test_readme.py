"""The README runs as written: `certledger up` in a temporary home, then every ```bash block of README.md in
order, in one shell (variables carry from block to block, as in a reader's terminal), each command required to
succeed: `set -e`, and curl fails on an HTTP error answer (``--fail-with-body``), so a 409 or 422 the README did
not mean is caught. Skipped: blocks preceded by ``<!-- readme-test: skip -->``, and the two setup commands
(`./dev up`, `./dev test`). The README's addresses (API on 8000, chain on 8545) are pointed at this stack's ports;
``var``, ``.venv`` and ``verifier-js`` are links to the stack's home, the environment and the JavaScript verifier."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger.app.config import REPO_ROOT
from tests.test_newcomer import interrupt, stack_arguments, start, wait_for

SKIP_MARK = "<!-- readme-test: skip -->"
SETUP = ("./dev up", "./dev test")
FENCE = re.compile(r"^```bash\n(.*?)^```\n", re.S | re.M)


def bash_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, body) of every ```bash block to run."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        body = match.group(1)
        if before == SKIP_MARK or any(cmd in body for cmd in SETUP):
            continue
        blocks.append((text.count("\n", 0, match.start()) + 1, body))
    return blocks


def script(blocks: list[tuple[int, str]], api: str, rpc: str) -> str:
    lines = ["set -eo pipefail", 'curl() { command curl --fail-with-body --show-error "$@"; }']
    for line, body in blocks:
        body = body.replace("http://127.0.0.1:8000", api).replace("http://127.0.0.1:8545", rpc)
        lines += [f'echo "=== README.md line {line}" >&2', body]
    lines.append('echo "=== all blocks ran" >&2')
    return "\n".join(lines) + "\n"


def test_the_readme_has_runnable_blocks() -> None:
    blocks = bash_blocks((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 3, "README.md has no ```bash blocks to run"
    assert bash_blocks("x\n```bash\n./dev up\n```\n<!-- readme-test: skip -->\n```bash\nfalse\n```\n") == []


@pytest.mark.slow
def test_every_readme_block_runs_against_a_live_stack(tmp_path: Path) -> None:
    args, env, api, rpc = stack_arguments(tmp_path, "anvil")
    home, log = tmp_path / "var", tmp_path / "up.log"
    up = start(["up", *args], log, env)
    try:
        wait_for(lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200
                 and (home / "demo.env").exists(), up, log)
        work = tmp_path / "reader"
        work.mkdir()
        (work / "var").symlink_to(home)
        (work / ".venv").symlink_to(Path(os.path.realpath(REPO_ROOT / ".venv")))
        (work / "verifier-js").symlink_to(REPO_ROOT / "verifier-js")  # the README runs the JavaScript verifier
        (work / "tests").mkdir()
        (work / "tests" / "interop").symlink_to(REPO_ROOT / "tests" / "interop")  # ... and the standard verifiers
        blocks = bash_blocks((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
        (work / "readme.sh").write_text(script(blocks, api, rpc), encoding="utf-8")
        done = subprocess.run(["bash", "readme.sh"], cwd=work, env={**env, "CERTLEDGER_HOME": str(home)},
                              capture_output=True, text=True, timeout=600)
        where = [line for line in done.stderr.splitlines() if line.startswith("=== ")]
        assert done.returncode == 0 and where[-1] == "=== all blocks ran", (
            f"failed after {where[-1:]} (exit {done.returncode})\n--- stdout\n{done.stdout[-4000:]}\n"
            f"--- stderr\n{done.stderr[-4000:]}")
    finally:
        interrupt(up)
