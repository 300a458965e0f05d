"""Record seals as rows store them: the seal certificate (and SESeal) left to the seal registry, the very same DER
rebuilt from what is left."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ledger.core.canonical import canonical_record
from ledger.core.errors import NotFound
from signer.compact_seal import compact_seal, expand_seal, seal_compact
from signer.registry import SealRegistry

from .conftest import CIVIL, MARKET, record
from .test_record_seal import assert_valid


@pytest.mark.parametrize("who", ["market", "civil_sm2"])
def test_p256_and_sm2_seals_round_trip_byte_for_byte(city, who) -> None:
    info = getattr(city, who)
    records = [record(CIVIL if who == "civil_sm2" else MARKET, number=f"No.{i}") for i in range(3)]
    for when in (None, datetime(2051, 3, 4, 5, 6, 7, tzinfo=timezone.utc)):  # UTCTime, and GeneralizedTime from 2050
        for rec, seal in zip(records, city.sealer(info).seal_records(records, when), strict=True):
            stored = compact_seal(seal)
            assert stored[0] == (2 if who == "civil_sm2" else 1) and len(stored) < 160 < len(seal)
            assert expand_seal(stored, city.authority.registry) == seal
    rec, seal = records[0], city.sealer(info).seal_records(records[:1])[0]
    assert_valid(city.verifier.verify_record(rec, expand_seal(compact_seal(seal), city.authority.registry)))


def test_a_seal_it_cannot_rebuild_is_stored_whole(city) -> None:
    seal = city.sealer(city.market).seal_records([record()])[0]
    for odd in (seal + b"\x00", b"\x30\x03\x02\x01\x01", seal[:-1]):
        assert compact_seal(odd) == odd
        assert expand_seal(odd, city.authority.registry) == odd


def test_a_compact_seal_needs_its_certificate_in_the_registry(city) -> None:
    stored = compact_seal(city.sealer(city.market).seal_records([record()])[0])
    with pytest.raises(NotFound):
        expand_seal(stored, SealRegistry(root_der=city.authority.registry.root_der))


@pytest.mark.parametrize("who", ["market", "civil_sm2"])
def test_sealing_straight_to_the_stored_form_gives_what_compacting_the_seal_gives(city, who) -> None:
    info = getattr(city, who)
    records = [record(CIVIL if who == "civil_sm2" else MARKET, number=f"No.{i}") for i in range(3)]
    canonical = [canonical_record(r) for r in records]
    for when in (None, datetime(2051, 3, 4, 5, 6, 7, tzinfo=timezone.utc)):
        for rec, data, stored in zip(records, canonical, seal_compact(city.sealer(info), canonical, when), strict=True):
            seal = expand_seal(stored, city.authority.registry, data)
            assert compact_seal(seal, data) == stored and len(stored) < 128 < len(seal)
            if when is None:  # in 2051 the seal certificate has expired
                assert_valid(city.verifier.verify_record(rec, seal))


def test_a_seal_stored_beside_its_record_leaves_the_digest_to_the_record(city) -> None:
    """32 bytes less; rebuilding needs the record, and a record changed since rebuilds a seal that does not verify."""
    rec = record()
    data = canonical_record(rec)
    (stored,) = seal_compact(city.sealer(city.market), [data])
    seal = expand_seal(stored, city.authority.registry, data)
    assert len(compact_seal(seal)) == len(stored) + 32 and stored[0] == 0x81
    assert compact_seal(seal, canonical_record(record(number="other"))) == compact_seal(seal)  # not its record
    with pytest.raises(ValueError):
        expand_seal(stored, city.authority.registry)
    changed = {**rec, "holder": "冒名顶替有限公司"}
    forged = expand_seal(stored, city.authority.registry, canonical_record(changed))
    assert any(c.status.value != "VALID" for c in city.verifier.verify_record(changed, forged))
