"""The committed ABI and bytecode are exactly what the pinned compiler makes of the source."""

from ledger.chain.compiler import SOLC_VERSION, compile_contract, load_artifact


def test_committed_artifact_matches_a_fresh_compile() -> None:
    committed = load_artifact()
    fresh = compile_contract()
    assert committed["compiler"]["version"] == SOLC_VERSION
    assert fresh["sourceSha256"] == committed["sourceSha256"], "contracts/ changed: run `certledger compile`"
    assert fresh["abi"] == committed["abi"], "ABI differs: run `certledger compile` and commit ledger/chain/artifacts/"
    assert fresh["bytecode"] == committed["bytecode"], "bytecode differs: run `certledger compile`"
    assert fresh["deployedBytecode"] == committed["deployedBytecode"]


def test_abi_declares_every_custom_error_and_event() -> None:
    abi = load_artifact()["abi"]
    errors = {e["name"] for e in abi if e["type"] == "error"}
    events = {e["name"] for e in abi if e["type"] == "event"}
    assert {"RootAlreadyAnchored", "UnknownRoot", "OrganizationInactive", "UnknownOrganization",
            "CurrentSealRevoked", "CreditCodeHasActiveAccount", "AccessControlEnforcedDefaultAdminDelay"} <= errors
    assert {"Anchored", "StatusChanged", "OrganizationRegistered", "SealRotated", "SealRevoked", "RoleRevoked"} <= events
