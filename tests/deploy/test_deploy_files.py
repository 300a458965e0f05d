"""The production files in deploy/ and docs/deployment.md: they parse, and agree with each other.

No Besu, Kubo, IPFS Cluster or Prometheus can run on the build machine (docs/deployment.md, "What
could not be run here"), so these checks catch what a hand edit breaks before a node would: a
genesis whose extraData no longer lists the validators, an admin API on a public interface, a unit
naming a command that does not exist, an environment file that disagrees with the node it points at.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import rlp
import typer.main
from eth_utils import is_checksum_address, keccak, to_checksum_address
from multiformats import multibase
from sqlalchemy.engine import make_url

from cli.main import app
from ledger.documents.cid import CHUNK_SIZE

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOC = REPO / "docs" / "deployment.md"
BESU = DEPLOY / "besu"
VALIDATOR_CONFIGS = [BESU / f"node-{n}" / "config.toml" for n in range(1, 5)]
OTHER_NODE_CONFIGS = [BESU / "rpc-node" / "config.toml", BESU / "member-node" / "config.toml"]
UNITS = sorted((DEPLOY / "systemd").glob("certledger-*.service"))
CERTLEDGER_BIN = "/opt/certledger/venv/bin/certledger"
# RPC namespaces that must never be served over HTTP: node administration, tracing, the pool,
# block production and the permission lists.
FORBIDDEN_HTTP_APIS = {"ADMIN", "DEBUG", "TRACE", "TXPOOL", "MINER", "PERM", "PLUGINS"}
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
# Besu's QBFT documentation, "Generate extra data": this toEncode.json gives this extraData.
BESU_DOC_VALIDATORS = [
    "0x4592c8e45706cc08b8f44b11e43cba0cfc5892cb",
    "0x06e23768a0f59cf365e18c2e0c89e151bcdedc70",
    "0xc5327f96ee02d7bcbc1bf1236b8c15148971e1de",
    "0xab5e7f4061c605820d3744227eed91ff8e2c8908",
]
BESU_DOC_EXTRA_DATA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f854944592c8e45706cc08b8f44b11e43cb"
    "a0cfc5892cb9406e23768a0f59cf365e18c2e0c89e151bcdedc7094c5327f96ee02d7bcbc1bf1236b8c15148971e1de94ab5e7f406"
    "1c605820d3744227eed91ff8e2c8908c080c0"
)
# CERTLEDGER_* variables the code reads that production never sets.
NOT_FOR_PRODUCTION = re.compile(r"^CERTLEDGER_TEST_\w+$")


# ------------------------------------------------------------------ helpers


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _doc_parameter(name: str) -> int:
    """A value of the doc's network-parameters table: ``| name | `value` … |``."""
    m = re.search(rf"^\| {re.escape(name)} \| `(\d+)`", _doc(), re.MULTILINE)
    assert m, f"docs/deployment.md has no network parameter row {name!r}"
    return int(m.group(1))


def _doc_table(pattern: str) -> dict[str, str]:
    """Rows of a doc table whose first cell is a backticked name and second a status."""
    return dict(re.findall(pattern, _doc(), re.MULTILINE))


def _doc_env_vars() -> dict[str, str]:
    return _doc_table(r"^\| `([A-Z][A-Z0-9_]+)` \| (existing|planned) \|")


def _doc_commands() -> dict[str, str]:
    return _doc_table(r"^\| `certledger ([a-z-]+)` \| (existing|planned) \|")


def _cli_commands() -> set[str]:
    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (DEPLOY / "systemd" / "certledger.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            assert key not in values, f"{key} set twice in certledger.env.example"
            values[key] = value
    return values


def _env_read_by_code() -> set[str]:
    names: set[str] = set()
    for package in ("ledger", "api", "signer"):
        for path in (REPO / package).rglob("*.py"):
            names |= set(re.findall(r"\bCERTLEDGER_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    return {n for n in names if not NOT_FOR_PRODUCTION.match(n)}


def _enode(url: str) -> tuple[str, str, int]:
    m = re.fullmatch(r"enode://([0-9a-f]{128})@([0-9.]+):(\d+)", url)
    assert m, f"not an enode URL with a 64-byte public key: {url}"
    return m.group(1), m.group(2), int(m.group(3))


def _enode_address(url: str) -> str:
    return to_checksum_address(keccak(bytes.fromhex(_enode(url)[0]))[-20:])


def _permissions() -> dict[str, Any]:
    return _toml(BESU / "permissions_config.toml")


def _own_enode(config: dict[str, Any]) -> str:
    mine = [e for e in _permissions()["nodes-allowlist"] if _enode(e)[1:] == (config["p2p-host"], config["p2p-port"])]
    assert len(mine) == 1, f"{config['identity']} ({config['p2p-host']}) is not once in the nodes allowlist"
    return mine[0]


def _is_internal(host: str) -> bool:
    address = ipaddress.ip_address(host)
    return address.is_private and not address.is_unspecified and not address.is_loopback


def _multiaddr_host_port(addr: str) -> tuple[str, int]:
    m = re.fullmatch(r"/(?:ip4|dns4)/([^/]+)/tcp/(\d+)(?:/http)?", addr)
    assert m, f"not a TCP multiaddr: {addr}"
    return m.group(1), int(m.group(2))


def _pg_conf(path: Path) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip().strip("'")
    return settings


# ------------------------------------------------------------------ the chain


def test_genesis_is_qbft_with_zero_base_fee_and_cancun() -> None:
    genesis = _json(BESU / "genesis.json")
    config = genesis["config"]
    assert config["chainId"] == _doc_parameter("chain ID")
    assert config["qbft"] == {
        "blockperiodseconds": _doc_parameter("block period"),
        "epochlength": _doc_parameter("epoch length"),
        "requesttimeoutseconds": _doc_parameter("round timeout"),
    }
    assert config["zeroBaseFee"] is True
    assert not {"ethash", "clique", "ibft2"} & set(config), "one consensus protocol only"
    # london (EIP-1559) from block 0, shanghai and cancun (the contract's EVM version) from time 0
    assert config["berlinBlock"] == config["londonBlock"] == 0
    assert config["shanghaiTime"] == config["cancunTime"] == 0
    assert int(genesis["gasLimit"], 16) == _doc_parameter("block gas limit")
    assert genesis["mixHash"] == QBFT_MIX_HASH and genesis["difficulty"] == "0x1"
    assert genesis["alloc"] == {}, "a zero-gas chain needs no balances"
    assert 0 < int(genesis["timestamp"], 16) < 2**32


def test_extra_data_lists_exactly_the_validators_of_to_encode() -> None:
    validators = _json(BESU / "toEncode.json")
    assert len(validators) == _doc_parameter("validators") == 4
    assert all(is_checksum_address(v) for v in validators)
    assert validators == sorted(validators, key=str.lower), "toEncode.json must be in ascending order"
    vanity, listed, vote, round_, seals = rlp.decode(bytes.fromhex(_json(BESU / "genesis.json")["extraData"][2:]))
    assert vanity == bytes(32)
    assert [to_checksum_address(v) for v in listed] == validators
    assert vote == [] and round_ == b"" and seals == []


def test_extra_data_encoding_is_besus() -> None:
    """The encoding the previous test decodes reproduces Besu's documented `rlp encode` output."""

    def encode(addresses: list[str]) -> str:
        return "0x" + rlp.encode([bytes(32), [bytes.fromhex(a[2:]) for a in addresses], [], b"", []]).hex()

    assert encode(BESU_DOC_VALIDATORS) == BESU_DOC_EXTRA_DATA
    assert encode(_json(BESU / "toEncode.json")) == _json(BESU / "genesis.json")["extraData"]


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.toml")), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_toml_file_parses(path: Path) -> None:
    assert _toml(path)


@pytest.mark.parametrize("path", VALIDATOR_CONFIGS + OTHER_NODE_CONFIGS, ids=lambda p: p.parent.name)
def test_node_config_is_zero_gas_internal_and_permissioned(path: Path) -> None:
    config = _toml(path)
    assert config["min-gas-price"] == 0 and config["tx-pool-min-gas-price"] == 0
    apis = set(config["rpc-http-api"])
    assert not apis & FORBIDDEN_HTTP_APIS, f"{sorted(apis & FORBIDDEN_HTTP_APIS)} on HTTP"
    assert ("QBFT" in apis) == (path in VALIDATOR_CONFIGS), "QBFT votes on validators only"
    assert _is_internal(config["rpc-http-host"]) and _is_internal(config["metrics-host"])
    assert "*" not in config["host-allowlist"] and "*" not in config.get("rpc-http-cors-origins", [])
    if config.get("rpc-ws-enabled"):
        assert ipaddress.ip_address(config["rpc-ws-host"]).is_loopback, "WebSocket APIs on loopback only"
    assert config["rpc-max-logs-range"] > 0
    assert config["rpc-max-logs-range"] >= int(_env_example()["CERTLEDGER_LOG_RANGE"])
    assert config["rpc-max-logs-range"] == _doc_parameter("log query range")
    if "target-gas-limit" in config:
        assert config["target-gas-limit"] == int(_json(BESU / "genesis.json")["gasLimit"], 16)
    assert config["permissions-nodes-config-file-enabled"] and config["permissions-accounts-config-file-enabled"]
    assert config["permissions-nodes-config-file"] == config["permissions-accounts-config-file"]
    assert Path(config["permissions-nodes-config-file"]).name == "permissions_config.toml"
    assert Path(config["permissions-nodes-config-file"]).parent == Path(config["data-path"]), "writable by Besu"
    own = _own_enode(config)
    assert config["bootnodes"], "a node needs bootnodes to find the network"
    for bootnode in config["bootnodes"]:
        assert bootnode in _permissions()["nodes-allowlist"], "Besu will not start with a bootnode off the allowlist"
        assert bootnode != own


def test_validator_enodes_are_the_extra_data_validators() -> None:
    validators = {_enode_address(_own_enode(_toml(p))) for p in VALIDATOR_CONFIGS}
    assert validators == set(_json(BESU / "toEncode.json"))
    for path in OTHER_NODE_CONFIGS:
        assert _enode_address(_own_enode(_toml(path))) not in validators
    for path in VALIDATOR_CONFIGS:
        expected = {_own_enode(_toml(p)) for p in VALIDATOR_CONFIGS if p != path}
        assert set(_toml(path)["bootnodes"]) == expected, "a validator boots from the other three"


def test_permission_lists_are_well_formed() -> None:
    permissions = _permissions()
    nodes, accounts = permissions["nodes-allowlist"], permissions["accounts-allowlist"]
    assert len(set(nodes)) == len(nodes) and len({_enode(n)[0] for n in nodes}) == len(nodes)
    assert len(set(accounts)) == len(accounts) and all(is_checksum_address(a) for a in accounts)
    assert not set(accounts) & {_enode_address(n) for n in nodes}, "node keys are not transaction senders"


# ------------------------------------------------------------------ certledger services


def test_doc_command_table_matches_the_cli() -> None:
    commands, cli = _doc_commands(), _cli_commands()
    assert {"serve", "worker", "indexer", "deploy", "migrate", "init", "backup", "restore"} <= set(commands)
    for name, status in commands.items():
        if status == "existing":
            assert name in cli, f"`certledger {name}` is marked existing in docs/deployment.md but the CLI lacks it"
        else:
            assert name not in cli, f"`certledger {name}` has landed: mark it existing in docs/deployment.md"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_runs_a_known_command_hardened(path: Path) -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(path, encoding="utf-8")
    service = unit["Service"]
    program, command, *_ = service["ExecStart"].split()
    assert program == CERTLEDGER_BIN
    assert command in _cli_commands() | set(_doc_commands()), f"{command} is neither a command nor a planned one"
    assert service["User"] == "certledger" and service["EnvironmentFile"] == "/etc/certledger/certledger.env"
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert service["PrivateTmp"] == "yes" and service["CapabilityBoundingSet"] == ""
    assert _env_example()["CERTLEDGER_HOME"] in service["ReadWritePaths"].split()
    assert service["IPAddressDeny"] == "any"
    for network in service["IPAddressAllow"].split():
        assert network == "localhost" or ipaddress.ip_network(network).is_private
    if service["Type"] == "oneshot":
        assert "Restart" not in service
    else:
        assert service["Restart"] == "on-failure" and service["KillSignal"] == "SIGTERM"
        assert service["TimeoutStopSec"].endswith("s") and unit["Install"]["WantedBy"] == "multi-user.target"


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.fixture(scope="module")
def stub_units(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The units with the certledger path pointing at a stub, so verify finds an executable."""
    folder = tmp_path_factory.mktemp("units")
    stub = folder / "certledger"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    paths = []
    for path in sorted((DEPLOY / "systemd").glob("certledger-*.*")):
        if path.suffix in (".service", ".timer"):
            (folder / path.name).write_text(path.read_text(encoding="utf-8").replace(CERTLEDGER_BIN, str(stub)))
            paths.append(folder / path.name)
    return paths


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify(stub_units: list[Path]) -> None:
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", *map(str, stub_units)], capture_output=True, text=True,
                            cwd=stub_units[0].parent, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_units_are_rated_ok_by_systemd_analyze_security(stub_units: list[Path]) -> None:
    for unit in (p for p in stub_units if p.suffix == ".service"):
        result = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
                                capture_output=True, text=True, cwd=unit.parent, timeout=60)
        if "--offline" in result.stderr:
            pytest.skip("this systemd-analyze has no --offline security check (systemd < 250)")
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
        assert m, result.stdout + result.stderr
        assert float(m.group(1)) <= 2.0, f"{unit.name} exposure {m.group(1)}"


# ------------------------------------------------------------------ environment


def test_env_example_and_doc_table_agree_with_the_code() -> None:
    documented, example, read = _doc_env_vars(), _env_example(), _env_read_by_code()
    assert set(example) <= set(documented), f"undocumented: {sorted(set(example) - set(documented))}"
    assert read <= set(documented), f"read by the code but not in docs/deployment.md: {sorted(read - set(documented))}"
    for name, status in documented.items():
        if status == "existing":
            assert name in read or name == "DATABASE_URL", f"{name} is marked existing but no code reads it"
        else:
            assert name not in read, f"{name} is read by the code now: mark it existing in docs/deployment.md"
    for name in ("CERTLEDGER_KEY_PASSWORD", "CERTLEDGER_DOCUMENT_KEY", "CERTLEDGER_PLATFORM_SECRET",
                 "CERTLEDGER_PKCS11_PIN"):
        assert re.fullmatch(r"<[^<>]+>", example[name]), f"{name} must be a placeholder, never a secret"
    assert example["CERTLEDGER_LIGHT_KDF"] == "0"
    assert example["CERTLEDGER_CONFIRMATIONS"] == "0", "QBFT: the receipt's block is final"
    assert int(example["CERTLEDGER_LOG_RANGE"]) == 1000


def test_env_example_points_at_the_nodes_cluster_and_databases() -> None:
    example = _env_example()
    rpc = urlsplit(example["CERTLEDGER_RPC_URL"])
    node = _toml(BESU / "rpc-node" / "config.toml")
    assert (rpc.hostname, rpc.port) == (node["rpc-http-host"], node["rpc-http-port"]), "certledger uses rpc-1"
    proxy = _json(DEPLOY / "ipfs" / "cluster" / "service.json")["api"]["ipfsproxy"]["listen_multiaddress"]
    assert _multiaddr_host_port(example["CERTLEDGER_IPFS_API"])[1] == _multiaddr_host_port(proxy)[1]

    url = make_url(example["DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"
    _, args = url.get_dialect()().create_connect_args(url)
    assert args["target_session_attrs"] == "read-write" and args["sslmode"] == "verify-full"
    primary = _pg_conf(DEPLOY / "postgres" / "primary.conf")
    replica = _pg_conf(DEPLOY / "postgres" / "replica.conf")
    assert args["host"].split(",") == [primary["listen_addresses"], replica["listen_addresses"]]
    assert args["port"].split(",") == [primary["port"], replica["port"]]
    hba = (DEPLOY / "postgres" / "pg_hba.conf").read_text(encoding="utf-8")
    app_hosts = re.findall(r"^hostssl\s+certledger\s+certledger\s+(\S+)/32", hba, re.MULTILINE)
    assert app_hosts, "pg_hba.conf admits no app host"
    assert all(ipaddress.ip_address(h) in ipaddress.ip_network(n)
               for h in app_hosts
               for n in _unit_option("certledger-serve.service", "IPAddressAllow").split() if n != "localhost")


def _unit_option(name: str, option: str) -> str:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "systemd" / name, encoding="utf-8")
    return unit["Service"][option]


# ------------------------------------------------------------------ IPFS


def _peer_id_is_ed25519(peer_id: str) -> bool:
    raw = multibase.decode("z" + peer_id)
    return raw[:2] == bytes([0x00, 36]) and raw[2:6] == bytes([0x08, 0x01, 0x12, 0x20]) and len(raw) == 38


def test_kubo_config_keeps_api_and_gateway_private_and_swarm_closed() -> None:
    kubo = _json(DEPLOY / "ipfs" / "kubo-config.json")
    for key in ("Addresses.API", "Addresses.Gateway"):
        assert ipaddress.ip_address(_multiaddr_host_port(kubo[key])[0]).is_loopback, key
    assert kubo["Addresses.Swarm"] == ["/ip4/@HOST_IP@/tcp/4001"], "TCP on the storage network only"
    assert kubo["Bootstrap"] == [] and kubo["Discovery.MDNS.Enabled"] is False
    for transport in ("QUIC", "WebTransport", "WebRTCDirect", "Websocket"):
        assert kubo[f"Swarm.Transports.Network.{transport}"] is False, "a private network is TCP only"
    assert kubo["Swarm.RelayClient.Enabled"] is kubo["Swarm.RelayService.Enabled"] is False
    # nothing fetched from or registered with public services, and no "auto" placeholder left for them
    assert kubo["AutoConf.Enabled"] is kubo["AutoTLS.Enabled"] is False
    assert kubo["Routing.DelegatedRouters"] == kubo["Ipns.DelegatedPublishers"] == [] and kubo["DNS.Resolvers"] == {}
    assert '"auto"' not in json.dumps(kubo)
    assert kubo["Import.CidVersion"] == 1 and kubo["Import.UnixFSRawLeaves"] is True
    assert kubo["Import.UnixFSChunker"] == f"size-{CHUNK_SIZE}" and kubo["Import.HashFunction"] == "sha2-256"
    assert not list((DEPLOY / "ipfs").rglob("swarm.key")) and not list(DEPLOY.rglob("identity.json"))


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_apply_kubo_config_sets_every_key_for_the_host(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "ipfs"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s\\t%s\\t%s\\t%s\\n" "$@" >> {calls}\n')
    fake.chmod(0o755)
    repo = tmp_path / "ipfs"
    repo.mkdir()
    env = {**os.environ, "IPFS_PATH": str(repo), "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    script = str(DEPLOY / "ipfs" / "apply-kubo-config.sh")

    refused = subprocess.run([script, "10.20.2.12"], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "swarm.key" in refused.stderr and not calls.exists()

    (repo / "swarm.key").write_text("/key/swarm/psk/1.0.0/\n/base16/\n" + "00" * 32 + "\n")
    done = subprocess.run([script, "10.20.2.12"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    applied = {}
    for line in calls.read_text().splitlines():
        verb, flag, key, value = line.split("\t")
        assert (verb, flag) == ("config", "--json")
        applied[key] = json.loads(value)
    expected = json.loads((DEPLOY / "ipfs" / "kubo-config.json").read_text().replace("@HOST_IP@", "10.20.2.12"))
    assert applied == expected


def test_cluster_is_crdt_with_trusted_peers_and_replication() -> None:
    service = _json(DEPLOY / "ipfs" / "cluster" / "service.json")
    cluster, crdt = service["cluster"], service["consensus"]["crdt"]
    trusted = crdt["trusted_peers"]
    assert "*" not in trusted and len(set(trusted)) == len(trusted) == 3
    assert all(_peer_id_is_ed25519(p) for p in trusted)
    for address in cluster["peer_addresses"]:
        assert address.rsplit("/p2p/", 1)[1] in trusted
    assert 2 <= cluster["replication_factor_min"] <= cluster["replication_factor_max"] <= len(trusted)
    assert cluster["disable_repinning"] is False and cluster["pin_only_on_trusted_peers"] is True
    kubo_api = _json(DEPLOY / "ipfs" / "kubo-config.json")["Addresses.API"]
    proxy, rest = service["api"]["ipfsproxy"], service["api"]["restapi"]
    assert proxy["node_multiaddress"] == service["ipfs_connector"]["ipfshttp"]["node_multiaddress"] == kubo_api
    assert _is_internal(_multiaddr_host_port(proxy["listen_multiaddress"])[0])
    assert ipaddress.ip_address(_multiaddr_host_port(rest["http_listen_multiaddress"])[0]).is_loopback
    assert not re.fullmatch(r"[0-9a-fA-F]{64}", cluster["secret"]), "the cluster secret is never committed"


# ------------------------------------------------------------------ PostgreSQL


def test_postgres_is_synchronous_tls_and_closed() -> None:
    primary = _pg_conf(DEPLOY / "postgres" / "primary.conf")
    replica = _pg_conf(DEPLOY / "postgres" / "replica.conf")
    assert set(primary) == set(replica), "the standby carries every setting so it can be promoted"
    standby = re.search(r'name="\$\{2:-(\w+)\}"', (DEPLOY / "postgres" / "replica-setup.sh").read_text()).group(1)
    assert primary["synchronous_standby_names"] == f"FIRST 1 ({standby})"
    assert primary["synchronous_commit"] == replica["synchronous_commit"] == "on"
    for conf in (primary, replica):
        assert conf["wal_level"] == "replica" and conf["ssl"] == "on" and conf["password_encryption"] == "scram-sha-256"
        assert _is_internal(conf["listen_addresses"])
    lines = [line.split() for line in (DEPLOY / "postgres" / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert all(line[-1] in ("peer", "scram-sha-256") for line in lines), "no trust, no md5"
    remote = [line for line in lines if line[0] != "local"]
    assert all(line[0] == "hostssl" and line[3].endswith("/32") for line in remote)
    replication_from = {line[3].removesuffix("/32") for line in remote if line[1] == "replication"}
    assert replication_from == {primary["listen_addresses"], replica["listen_addresses"]}


@pytest.mark.parametrize("path", sorted(DEPLOY.rglob("*.sh")), ids=lambda p: p.name)
def test_shell_scripts_parse(path: Path) -> None:
    assert os.access(path, os.X_OK), f"{path.name} is not executable"
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------------------------ Prometheus


def _load_yaml(path: Path) -> Any:
    """PyYAML from this environment, else from the system Python (Debian python3-yaml), else skip."""
    try:
        import yaml
    except ImportError:
        system = shutil.which("python3", path="/usr/bin")
        dump = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        if system is None or system == sys.executable:
            pytest.skip("PyYAML is not installed")
        result = subprocess.run([system, "-c", dump, str(path)], capture_output=True, text=True, timeout=60)
        if "No module named 'yaml'" in result.stderr:
            pytest.skip("PyYAML is not installed, here or in the system Python")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_prometheus_scrapes_what_the_configs_expose() -> None:
    prometheus = _load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: {t for sc in job["static_configs"] for t in sc["targets"]}
            for job in prometheus["scrape_configs"]}
    nodes = [_toml(p) for p in VALIDATOR_CONFIGS + [BESU / "rpc-node" / "config.toml"]]
    assert jobs["besu"] == {f"{n['metrics-host']}:{n['metrics-port']}" for n in nodes}
    cluster = _json(DEPLOY / "ipfs" / "cluster" / "service.json")["observations"]["metrics"]["prometheus_endpoint"]
    assert "%s:%d" % _multiaddr_host_port(cluster) in jobs["ipfs-cluster"]
    serve_port = re.search(r"--port (\d+)", _unit_option("certledger-serve.service", "ExecStart")).group(1)
    assert jobs["certledger-api"] and all(t.endswith(f":{serve_port}") for t in jobs["certledger-api"])
    assert all(_is_internal(t.rsplit(":", 1)[0]) for targets in jobs.values() for t in targets)


def _metric_names_in_code() -> set[str]:
    """Every metric family certledger exposes: counters get ``_total``, histograms ``_count``/``_sum``/``_bucket``."""
    names: set[str] = set()
    for path in (REPO / "ledger" / "app" / "metrics.py", REPO / "api" / "metrics.py"):
        text = path.read_text(encoding="utf-8")
        for kind, name in re.findall(r'\b(Counter|Histogram|GaugeMetricFamily)\(\s*"(certledger_\w+)"', text):
            names |= {"Counter": {name + "_total"}, "Histogram": {name + s for s in ("_count", "_sum", "_bucket")},
                      "GaugeMetricFamily": {name}}[kind]
    return names


def test_alert_rules_name_metrics_the_code_exposes() -> None:
    prometheus = _load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    assert "/etc/prometheus/certledger-alerts.yml" in prometheus["rule_files"]
    rules = _load_yaml(DEPLOY / "prometheus" / "certledger-alerts.yml")
    exposed = _metric_names_in_code()
    assert {"certledger_http_requests_total", "certledger_anchoring_queue_oldest_seconds",
            "certledger_worker_up", "certledger_indexer_head_lag_blocks"} <= exposed
    named = set()
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"].startswith("Certledger") and rule["annotations"]["summary"]
            named |= set(re.findall(r"\bcertledger_\w+", rule["expr"]))
    assert named and named <= exposed, f"alerts name metrics the code does not expose: {sorted(named - exposed)}"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_command_lines_are_the_commands_options(path: Path) -> None:
    """The options a unit passes exist on its command (parsed as the CLI parses them, nothing run)."""
    _program, command, *args = _unit_option(path.name, "ExecStart").split()
    cli = typer.main.get_command(app)
    cli.commands[command].make_context(command, list(args))  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the document


def test_every_path_the_doc_names_exists() -> None:
    named = set(re.findall(r"(?<![\w/])((?:deploy|docs|ledger|api|signer|tests|benchmarks)/[\w./-]*\w)", _doc()))
    assert named, "the doc names no files?"
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"docs/deployment.md names files that do not exist: {missing}"


def test_every_deploy_file_is_named_in_the_doc() -> None:
    doc = _doc()
    unnamed = sorted(str(p.relative_to(REPO)) for p in DEPLOY.rglob("*") if p.is_file()
                     and str(p.relative_to(REPO)) not in doc)
    assert not unnamed, f"files in deploy/ that docs/deployment.md does not mention: {unnamed}"
