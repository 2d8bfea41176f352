"""VietQR: the EMVCo merchant-presented QR that Vietnamese banking apps scan to fill in a transfer
(NAPAS's VietQR specification): bank, account, amount and purpose, so that the donor's transfer
carries the pledge's payment code."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import segno

from domain.text import fold

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
PURPOSE_MAX = 25
_NOT_PURPOSE = re.compile(r"[^A-Za-z0-9 ]+")
_BIN = re.compile(r"\d{6}")
_ACCOUNT = re.compile(r"[A-Za-z0-9]{1,19}")


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"VietQR field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def purpose_text(purpose: str) -> str:
    """The purpose as banks carry it: Vietnamese letters without diacritics (case kept), ASCII letters,
    digits and single spaces only."""
    ascii_text = "".join(" " if ch.isspace() else fold(ch).upper() if ch.isupper() else fold(ch)
                         for ch in purpose)
    return " ".join(_NOT_PURPOSE.sub(" ", ascii_text).split())


def payload(bank_bin: str, account_number: str, amount_vnd: int | None, purpose: str) -> str:
    """The VietQR text: static (01=11) without an amount, dynamic (01=12) with one."""
    if not _BIN.fullmatch(bank_bin):
        raise ValueError(f"bank BIN {bank_bin!r} must be 6 digits")
    if not _ACCOUNT.fullmatch(account_number):
        raise ValueError("the account number must be 1 to 19 letters or digits")
    if amount_vnd is not None and not 0 < amount_vnd < 10**13:
        raise ValueError("the amount must be a positive whole number of đồng, at most 13 digits")
    text = purpose_text(purpose)
    if len(text) > PURPOSE_MAX:
        raise ValueError(f"the transfer purpose {text!r} is longer than {PURPOSE_MAX} characters")
    beneficiary = _tlv("00", bank_bin) + _tlv("01", account_number)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE_TO_ACCOUNT)
    fields = [_tlv("00", "01"), _tlv("01", "11" if amount_vnd is None else "12"), _tlv("38", merchant),
              _tlv("53", "704")]
    if amount_vnd is not None:
        fields.append(_tlv("54", str(amount_vnd)))
    fields.append(_tlv("58", "VN"))
    if text:
        fields.append(_tlv("62", _tlv("08", text)))
    body = "".join(fields) + "6304"
    return body + f"{crc16(body.encode('utf-8')):04X}"


def _objects(text: str) -> dict[str, str]:
    objects: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag, size = text[pos:pos + 2], text[pos + 2:pos + 4]
        if len(tag) < 2 or not size.isdigit() or pos + 4 + int(size) > len(text):
            raise ValueError(f"malformed VietQR data object at character {pos}")
        objects[tag] = text[pos + 4:pos + 4 + int(size)]
        pos += 4 + int(size)
    return objects


def parse_payload(text: str) -> dict[str, Any]:
    """The data objects of a VietQR text by tag, with the templates 38 (and its 01, the beneficiary)
    and 62 as nested dicts, after checking the CRC; ValueError if malformed or the CRC is wrong."""
    if len(text) < 8 or text[-8:-4] != "6304":
        raise ValueError("a VietQR text ends with the CRC field 6304XXXX")
    if f"{crc16(text[:-4].encode('utf-8')):04X}" != text[-4:].upper():
        raise ValueError("VietQR CRC mismatch")
    fields: dict[str, Any] = dict(_objects(text))
    if "38" in fields:
        merchant: dict[str, Any] = dict(_objects(fields["38"]))
        if "01" in merchant:
            merchant["01"] = _objects(merchant["01"])
        fields["38"] = merchant
    if "62" in fields:
        fields["62"] = _objects(fields["62"])
    return fields


def png(payload: str, scale: int = 6) -> bytes:
    """The QR code as a PNG image, error correction level M (segno, pure Python)."""
    out = io.BytesIO()
    segno.make_qr(payload, error="m", boost_error=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    code: str
    short_name: str
    name: str
    aliases: tuple[str, ...] = ()


def _lookup_key(text: str) -> str:
    return "".join(ch for ch in fold(text) if ch.isalnum())


@lru_cache(maxsize=1)
def banks() -> tuple[Bank, ...]:
    """The main Vietnamese banks with their NAPAS BINs (adapters/data/banks.json)."""
    raw = json.loads(resources.files("adapters").joinpath("data/banks.json").read_text("utf-8"))
    return tuple(Bank(bin=b["bin"], code=b["code"], short_name=b["short_name"], name=b["name"],
                      aliases=tuple(b.get("aliases", ()))) for b in raw["banks"])


@lru_cache(maxsize=1)
def _index() -> dict[str, Bank]:
    index: dict[str, Bank] = {}
    for bank in banks():
        for name in (bank.bin, bank.code, bank.short_name, bank.name, *bank.aliases):
            index.setdefault(_lookup_key(name), bank)
    return index


def find_bank(bank: str) -> Bank | None:
    """A bank by BIN, code, short name, full Vietnamese name or a former name; case, diacritics,
    spaces and punctuation don't matter ('Vietcombank', 'VCB', 'ngan hang tmcp ngoai thuong viet nam')."""
    return _index().get(_lookup_key(bank))


def bank_bin(bank: str) -> str | None:
    found = find_bank(bank)
    return None if found is None else found.bin
