"""Masked holder data: what a verifier without the holder's consent may see (minimum necessary, PIPL).

A person's name keeps its first and last character (张*三, 欧阳**锋; a two-character name keeps the first: 李*);
an organisation's name keeps its first two and last two (长沙**公司). A personal ID number keeps its first three and
last four characters (430***********1234); an organisation's unified social credit code is public and is shown.
"""

from __future__ import annotations

from typing import Any

CREDIT_CODE = "001"


def mask_name(name: str, *, organisation: bool = False) -> str:
    if organisation and len(name) > 4:
        return name[:2] + "**" + name[-2:]
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id(number: str) -> str:
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def masked_holder(record: dict[str, Any]) -> dict[str, Any]:
    """The holder fields of a record with the name and (personal) ID number masked; nothing else."""
    id_type = record.get("holder_id_type")
    organisation = id_type == CREDIT_CODE
    out: dict[str, Any] = {"holder_id_type": id_type}
    if isinstance(record.get("holder"), str):
        out["holder"] = mask_name(record["holder"], organisation=organisation)
    if isinstance(record.get("holder_id"), str):
        out["holder_id"] = record["holder_id"] if organisation else mask_id(record["holder_id"])
    return out
