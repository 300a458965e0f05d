"""The indexer's decoders read every event of the contract's ABI exactly as web3's own decoding does."""

from __future__ import annotations

import secrets
from typing import Any

from eth_abi import encode
from hexbytes import HexBytes
from web3 import Web3
from web3._utils.events import get_event_data

from ledger.chain.compiler import load_artifact
from ledger.chain.event_decoding import event_decoders


def _value(abi_type: str) -> Any:
    if abi_type == "address":
        return Web3.to_checksum_address(secrets.token_bytes(20))
    if abi_type.startswith("uint"):
        return secrets.randbits(int(abi_type[4:] or 256))
    return secrets.token_bytes(int(abi_type[5:]))


def test_each_event_decodes_as_web3_decodes_it() -> None:
    abi = load_artifact()["abi"]
    decoders = event_decoders(abi)
    codec = Web3().codec
    for entry in (e for e in abi if e["type"] == "event"):
        values = {i["name"]: _value(i["type"]) for i in entry["inputs"]}
        decoder = next(d for d in decoders.values() if d.name == entry["name"])
        topics = [decoder.topic] + ["0x" + encode([i["type"]], [values[i["name"]]]).hex()
                                    for i in entry["inputs"] if i["indexed"]]
        plain = [i for i in entry["inputs"] if not i["indexed"]]
        data = "0x" + encode([i["type"] for i in plain], [values[i["name"]] for i in plain]).hex()
        raw = {"topics": topics, "data": data, "blockNumber": "0x2a", "logIndex": "0x3",
               "transactionHash": "0x" + "ab" * 32}
        ours = decoder.decode(raw)
        theirs = get_event_data(codec, entry, {
            "topics": [HexBytes(t) for t in topics], "data": HexBytes(data), "blockNumber": 42, "logIndex": 3,
            "transactionHash": HexBytes(raw["transactionHash"]), "transactionIndex": 0, "blockHash": HexBytes(32),
            "address": Web3.to_checksum_address(bytes(20))})
        assert ours.args == dict(theirs["args"]) == values, entry["name"]
        assert (ours.name, ours.block_number, ours.log_index, ours.tx_hash) == (entry["name"], 42, 3, b"\xab" * 32)
