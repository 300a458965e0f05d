"""GB/T 38540-2020 (version 4) electronic seal structures, used for SM2 record seals.

Only ``certListType`` 1 (a list of certificates) is modelled: the CHOICE with a digest list cannot
be told apart by tag in asn1crypto, and we never write digest lists.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import core

from .der import seq, tlv
from .keys import SM2_WITH_SM3_OID

ES_VERSION = 4
ES_VENDOR_ID = "certledger"
ECDSA_SHA256_OID = "1.2.840.10045.4.3.2"
RECORD_PROPERTY = "certledger-record;canonical=rfc8785;hash=sm3"


class SESHeader(core.Sequence):
    _fields = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


class CertInfoList(core.SequenceOf):
    _child_spec = core.OctetString


class SESESPropertyInfo(core.Sequence):
    _fields = [
        ("type", core.Integer),  # 1 = organisation seal
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),  # 1 = certificates
        ("cert_list", CertInfoList),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]


class SESESPictureInfo(core.Sequence):
    _fields = [("type", core.IA5String), ("data", core.OctetString), ("width", core.Integer), ("height", core.Integer)]


class ExtData(core.Sequence):
    _fields = [("extn_id", core.ObjectIdentifier), ("critical", core.Boolean, {"default": False}),
               ("extn_value", core.OctetString)]


class ExtensionDatas(core.SequenceOf):
    _child_spec = ExtData


class SESSealInfo(core.Sequence):
    _fields = [("header", SESHeader), ("es_id", core.IA5String), ("property", SESESPropertyInfo),
               ("picture", SESESPictureInfo), ("ext_datas", ExtensionDatas, {"optional": True})]


class SESeal(core.Sequence):
    _fields = [("eseal_info", SESSealInfo), ("cert", core.OctetString), ("sign_alg_id", core.ObjectIdentifier),
               ("signed_value", core.OctetBitString)]


class TBSSign(core.Sequence):
    _fields = [("version", core.Integer), ("eseal", SESeal), ("time_info", core.GeneralizedTime),
               ("data_hash", core.OctetBitString), ("property_info", core.IA5String),
               ("ext_datas", ExtensionDatas, {"optional": True})]


class SESSignature(core.Sequence):
    _fields = [("to_sign", TBSSign), ("cert", core.OctetString), ("signature_alg_id", core.ObjectIdentifier),
               ("signature", core.OctetBitString), ("time_stamp", core.OctetBitString, {"implicit": 0, "optional": True})]


def seal_info(*, es_id: str, name: str, cert_der: bytes, picture_png: bytes, created: datetime,
              valid_start: datetime, valid_end: datetime) -> SESSealInfo:
    """The seal's own data, signed by the seal maker; 42 mm is the usual size of a department seal."""
    return SESSealInfo({
        "header": {"id": "ES", "version": ES_VERSION, "vid": ES_VENDOR_ID},
        "es_id": es_id,
        "property": {"type": 1, "name": name, "cert_list_type": 1, "cert_list": [cert_der],
                     "create_date": created, "valid_start": valid_start, "valid_end": valid_end},
        "picture": {"type": "png", "data": picture_png, "width": 42, "height": 42},
    })


def tbs_sign(eseal_der: bytes, time_der: bytes, data_hash: bytes) -> bytes:
    """TBS_Sign DER assembled by hand: only the time (GeneralizedTime DER) and the hash change per record."""
    return seq(b"\x02\x01\x04", eseal_der, time_der, tlv(0x03, b"\x00" + data_hash), _PROPERTY)


def ses_signature(tbs_der: bytes, cert_octets: bytes, signature: bytes) -> bytes:
    """``cert_octets`` is the seal certificate already wrapped as an OCTET STRING."""
    return seq(tbs_der, cert_octets, _SM2_WITH_SM3, tlv(0x03, b"\x00" + signature))


_PROPERTY = core.IA5String(RECORD_PROPERTY).dump()
_SM2_WITH_SM3 = core.ObjectIdentifier(SM2_WITH_SM3_OID).dump()
