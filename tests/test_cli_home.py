"""Every command finds the stack's configuration as `up` does (`--home` or CERTLEDGER_HOME, and the settings `up`
wrote in HOME/.env), answers a missing file in one line with exit code 2, and prints no dependency warnings."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

from ledger.app.config import REPO_ROOT
from tests.fixtures.cli import CLI

ID = ["11430100303989522P", "--id-type", "001"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_") and k != "DATABASE_URL"}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **extra}


def _start(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([CLI, *args], cwd=cwd, env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _holder_key(token: str) -> str:
    payload = token.removeprefix("clh_").split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["hk"]


def _stack_home(path: Path, password: str) -> Path:
    """A home as `certledger up` leaves it: its settings in HOME/.env."""
    path.mkdir()
    (path / ".env").write_text(f"# written by certledger up\nCERTLEDGER_KEY_PASSWORD={password}\n"
                               "CERTLEDGER_LIGHT_KDF=1\n", encoding="utf-8")
    return path


def test_home_by_option_or_environment_reaches_the_same_stack(tmp_path: Path) -> None:
    home = _stack_home(tmp_path / "stack", "pw-one")
    other = _stack_home(tmp_path / "other", "pw-two")
    first = _start(["--home", str(home), "holder-token", *ID], tmp_path)
    out1, err1 = first.communicate(timeout=60)
    assert first.returncode == 0, err1
    runs = [_start(["holder-token", *ID], tmp_path, CERTLEDGER_HOME=str(home)),
            _start(["holder-token", *ID], tmp_path, CERTLEDGER_HOME=str(other))]
    (out2, err2), (out3, err3) = (p.communicate(timeout=60) for p in runs)
    assert [p.returncode for p in runs] == [0, 0], err2 + err3
    assert _holder_key(out1.strip()) == _holder_key(out2.strip())  # the same platform secret: the same holder key
    assert _holder_key(out3.strip()) != _holder_key(out1.strip())  # another stack's secret
    assert not (tmp_path / "var").exists()  # no new home made where the command ran
    for err in (err1, err2, err3):
        assert "Warning" not in err and "Traceback" not in err, err


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    home = _stack_home(tmp_path / "stack", "pw")
    commands = [
        ["verify", "nope.json", "--rpc", "http://127.0.0.1:9", "--trust", "trust.json"],
        ["issue", "nope.json", "--org", "11430100303989522P"],
        ["report-submit", "nope.json", "--org", "51430100513343076P"],
        ["status-many", "revoke", "nope.txt", "--org", "11430100303989522P", "--reason", "r"],
        ["amend", "1.2.156", "nope.json", "--org", "11430100303989522P", "--reason", "r"],
        ["trust", "show", "nope.json"],
    ]
    runs = [_start(args, tmp_path, CERTLEDGER_HOME=str(home)) for args in commands]
    for args, proc in zip(commands, runs, strict=True):
        out, err = proc.communicate(timeout=90)
        lines = err.strip().splitlines()
        assert proc.returncode == 2, (args, out, err)
        assert len(lines) == 1 and "[file_not_found]" in lines[0], (args, err)
        assert "Traceback" not in err and "Warning" not in err + out, (args, err)
