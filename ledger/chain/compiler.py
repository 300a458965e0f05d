"""Compile the ledger contract with one pinned compiler version and settings.

The compiled ABI and bytecode are committed in ``ledger/chain/artifacts/`` so that running the service
needs no compiler; ``tests/test_contract_artifacts.py`` recompiles and fails when they differ.
Where internet exists, py-solc-x's native compiler of the same version is used
(``solcx.install_solc(SOLC_VERSION)``); offline, ``hardhat-local/bin/solc`` drives the npm ``solc``
package (solcjs) behind the same py-solc-x call. The CBOR metadata trailer is left out so both give
byte-identical code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import solcx

from ledger.core.errors import ServiceUnavailable

SOLC_VERSION = "0.8.30"
CONTRACT_NAME = "CertLedger"
REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT / "contracts" / f"{CONTRACT_NAME}.sol"
ARTIFACT = Path(__file__).resolve().parent / "artifacts" / f"{CONTRACT_NAME}.json"
SOLCJS_WRAPPER = REPO_ROOT / "hardhat-local" / "bin" / "solc"

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 10_000},
    "evmVersion": "cancun",
    "metadata": {"appendCBOR": False},
    "remappings": ["@openzeppelin/contracts/=hardhat-local/node_modules/@openzeppelin/contracts/"],
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


def solc_binary() -> Path:
    """The native compiler when py-solc-x has it installed, else the solcjs wrapper."""
    for installed in solcx.get_installed_solc_versions():
        if str(installed) == SOLC_VERSION:
            return solcx.install.get_executable(SOLC_VERSION)
    if not (REPO_ROOT / "hardhat-local" / "node_modules" / "solc").is_dir():
        raise ServiceUnavailable(
            "compiler_missing",
            f"no Solidity compiler {SOLC_VERSION}: run ./dev setup (installs the npm solc package), "
            f"or solcx.install_solc('{SOLC_VERSION}') where internet exists",
        )
    return SOLCJS_WRAPPER


def compile_contract() -> dict[str, Any]:
    """Compile the contract and return its artifact (ABI, bytecode, compiler facts)."""
    source = SOURCE.read_text(encoding="utf-8")
    rel = SOURCE.relative_to(REPO_ROOT).as_posix()
    output = solcx.compile_standard(
        {"language": "Solidity", "sources": {rel: {"content": source}}, "settings": SETTINGS},
        base_path=str(REPO_ROOT),
        allow_paths=[str(REPO_ROOT)],
        solc_binary=solc_binary(),
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("contract does not compile:\n" + "\n".join(e["formattedMessage"] for e in errors))
    contract = output["contracts"][rel][CONTRACT_NAME]
    return {
        "contractName": CONTRACT_NAME,
        "sourcePath": rel,
        "sourceSha256": hashlib.sha256(source.encode()).hexdigest(),
        "compiler": {"version": SOLC_VERSION, "settings": SETTINGS},
        "abi": contract["abi"],
        "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
    }


def write_artifact(artifact: dict[str, Any], path: Path = ARTIFACT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def load_artifact(path: Path = ARTIFACT) -> dict[str, Any]:
    """The committed artifact; the service never compiles at run time."""
    return json.loads(path.read_text(encoding="utf-8"))
