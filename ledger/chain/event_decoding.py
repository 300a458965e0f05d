"""The contract's events decoded straight from raw ``eth_getLogs`` results, one decoder per event of the ABI.

web3's own decoding (``get_event_data`` and the formatters ``eth.get_logs`` applies to every log) costs about
6 ms an event: too slow for the indexer at thousands of ``StatusChanged`` events a transaction. An event's
layout is fixed by its ABI: each indexed input is a topic, each static non-indexed input one 32-byte word of
``data``, so slicing bytes is exact. A decoder is derived from the ABI entry (never hand-typed selectors);
an event with a dynamic non-indexed input has its ``data`` decoded by ``eth_abi`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import event_abi_to_log_topic, to_checksum_address

_WORD_TYPE = re.compile(r"^(address|bool|u?int\d*|bytes([1-9]|[12]\d|3[0-2]))$")


@lru_cache(maxsize=65536)
def _address(word: bytes) -> str:
    """Checksummed (as web3 gives it); cached, the same few issuers sign every event."""
    return to_checksum_address(word[-20:])


def _word_reader(abi_type: str) -> Callable[[bytes], Any]:
    """How one 32-byte word of ``abi_type`` reads: an address as checksummed text, an integer, bytesN as bytes."""
    if abi_type == "address":
        return _address
    if abi_type == "bool":
        return lambda word: word != bytes(32)
    if abi_type.startswith("uint"):
        return lambda word: int.from_bytes(word, "big")
    if abi_type.startswith("int"):
        return lambda word: int.from_bytes(word, "big", signed=True)
    size = int(abi_type[5:])
    return lambda word: word[:size]


def _topic_reader(abi_type: str) -> Callable[[bytes], Any]:
    """An indexed input of a dynamic type is stored as its keccak hash: bytes32."""
    return _word_reader(abi_type) if _WORD_TYPE.match(abi_type) else _word_reader("bytes32")


@dataclass(frozen=True)
class DecodedEvent:
    name: str
    args: dict[str, Any]
    block_number: int
    log_index: int
    tx_hash: bytes


class EventDecoder:
    """Decodes the raw logs (hex strings, as the node sends them) of one event of the ABI."""

    def __init__(self, abi: dict[str, Any]) -> None:
        self.name: str = abi["name"]
        self.topic = "0x" + event_abi_to_log_topic(abi).hex()
        inputs = abi["inputs"]
        self._indexed = [(i["name"], _topic_reader(i["type"])) for i in inputs if i["indexed"]]
        plain = [i for i in inputs if not i["indexed"]]
        self._names = [i["name"] for i in plain]
        self._types = [i["type"] for i in plain]
        fixed = all(_WORD_TYPE.match(t) for t in self._types)
        self._words = [_word_reader(t) for t in self._types] if fixed else None

    def _data(self, data: bytes) -> list[Any]:
        if self._words is None:
            return [v if not isinstance(v, tuple) else list(v) for v in abi_decode(self._types, data)]
        return [read(data[32 * k : 32 * k + 32]) for k, read in enumerate(self._words)]

    def decode(self, log: dict[str, Any]) -> DecodedEvent:
        """The event of one raw log (``topics``, ``data``, ``blockNumber``, ``logIndex`` as hex text)."""
        topics = log["topics"]
        args = {name: read(bytes.fromhex(topics[k + 1][2:])) for k, (name, read) in enumerate(self._indexed)}
        args.update(zip(self._names, self._data(bytes.fromhex(log["data"][2:]))))
        return DecodedEvent(self.name, args, int(log["blockNumber"], 16), int(log["logIndex"], 16),
                            bytes.fromhex(log["transactionHash"][2:]))


def event_decoders(abi: Iterable[dict[str, Any]]) -> dict[str, EventDecoder]:
    """One decoder per event of the contract's ABI, keyed by its topic ("0x…", lower case)."""
    decoders = [EventDecoder(entry) for entry in abi if entry["type"] == "event" and not entry.get("anonymous")]
    return {d.topic: d for d in decoders}
