"""A certificate's record as stored: the record format's keys packed into single characters, read back exactly."""

from __future__ import annotations

import json

import pytest

from ledger.core.canonical import canonical_record
from ledger.storage.record_text import pack_record, unpack_record

RECORD = {
    "format": "certledger/record/1", "identifier": "1.2.156.3005.2.114301007463904398001.114301007463904398."
    "20260000001.001.K", "name": "食品小作坊登记证", "number": "001-000000000", "version": 1,
    "type_code": "114301007463904398001", "defining_department": "市场监督管理局",
    "defining_department_code": "114301007463904398", "issuing_department": "市场监督管理局",
    "issuing_department_code": "114301007463904398", "issue_date": "2026-05-26", "valid_from": "2026-05-26",
    "valid_until": None, "jurisdiction_code": "430100", "holder": "示例企业有限公司", "holder_id": "1143010083762988X4",
    "holder_id_type": "001", "service_item": None,
    # field keys and values that look like the packed keys, and characters JSON escapes
    "fields": {"name": "\"name\":", "file": "tab\there \u0001 \\\"salt\\\":", "holder": {"cid": 1}},
    "file": {"cid": "bafy", "sha256": "00" * 32, "size": 3, "media_type": "application/pdf", "encrypted": True},
    "salt": "ab" * 32,
}


def test_a_record_reads_back_byte_for_byte_and_is_stored_shorter() -> None:
    text = canonical_record(RECORD).decode()
    stored = pack_record(text)
    assert unpack_record(stored) == text
    assert len(stored.encode()) < len(text.encode()) - 250
    assert json.loads(unpack_record(stored)) == RECORD


def test_a_record_stored_as_plain_json_reads_as_it_is() -> None:
    text = canonical_record(RECORD).decode()
    assert unpack_record(text) == text


def test_a_raw_control_character_is_refused() -> None:
    with pytest.raises(ValueError):
        pack_record('{"holder":"a\u0001b"}')
