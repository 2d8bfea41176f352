"""VietQR payloads checked against the CRC standard and against published VietQR strings."""

from __future__ import annotations

import struct

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from adapters.vietqr import bank_bin, banks, crc16, find_bank, parse_payload, payload, png, purpose_text


def test_crc_check_value() -> None:
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE's standard check value


@pytest.mark.parametrize(("args", "published"), [
    # subiz/vietqr's README: 120,000 đồng to VietinBank 0011001932418, "ủng hộ lũ lụt".
    (("970415", "0011001932418", 120_000, "ủng hộ lũ lụt"),
     "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
     "62170813ung ho lu lut6304C15C"),
    # The vietnam-qr-pay package's README: 1,000 đồng to ACB 257678859, "Chuyen tien".
    (("970416", "257678859", 1_000, "Chuyen tien"),
     "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA5303704540410005802VN"
     "62150811Chuyen tien6304BBB8"),
])
def test_published_examples_are_reproduced(args: tuple[str, str, int, str], published: str) -> None:
    assert payload(*args) == published


def test_fields_one_by_one() -> None:
    fields = parse_payload(payload("970436", "0011004123456", 1_250_000, "Ủng hộ MB33WJG5DJM"))
    assert fields == {
        "00": "01", "01": "12",
        "38": {"00": "A000000727", "01": {"00": "970436", "01": "0011004123456"}, "02": "QRIBFTTA"},
        "53": "704", "54": "1250000", "58": "VN", "62": {"08": "Ung ho MB33WJG5DJM"},
        "63": fields["63"],
    }


def test_without_an_amount_the_qr_is_static() -> None:
    fields = parse_payload(payload("970418", "12010001234567", None, "Quy tre em"))
    assert fields["01"] == "11" and "54" not in fields


def test_purpose_is_ascii_letters_digits_and_spaces() -> None:
    assert purpose_text("  Ủng hộ: Đợt 1 — trẻ em!  ") == "Ung ho Dot 1 tre em"
    assert purpose_text("ĐÀ LẠT") == "DA LAT"
    with pytest.raises(ValueError, match="longer than 25"):
        payload("970436", "0011004123456", 1, "Ủng hộ trẻ em vùng cao Lạng Sơn")


@pytest.mark.parametrize(("bin_", "account", "amount"), [
    ("97043", "1", 1), ("97043A", "1", 1), ("970436", "", 1), ("970436", "12 34", 1),
    ("970436", "1" * 20, 1), ("970436", "1", 0), ("970436", "1", -5), ("970436", "1", 10**13),
])
def test_bad_fields_are_refused(bin_: str, account: str, amount: int) -> None:
    with pytest.raises(ValueError):
        payload(bin_, account, amount, "")


def test_a_tampered_payload_fails_its_crc() -> None:
    text = payload("970436", "0011004123456", 1_250_000, "Ung ho")
    with pytest.raises(ValueError, match="CRC"):
        parse_payload(text.replace("1250000", "9250000"))
    with pytest.raises(ValueError):
        parse_payload(text[:-8])


@given(bin_=st.sampled_from([bank.bin for bank in banks()]),
       account=st.text(alphabet="0123456789ABCXYZ", min_size=1, max_size=19),
       amount=st.none() | st.integers(1, 10**13 - 1),
       purpose=st.text(alphabet="abcxyz ăâđêôơư ÀÁẠ 0123456789", max_size=25))
def test_any_payload_parses_back(bin_: str, account: str, amount: int | None, purpose: str) -> None:
    fields = parse_payload(payload(bin_, account, amount, purpose))
    assert fields["38"]["01"] == {"00": bin_, "01": account}
    assert fields.get("54") == (None if amount is None else str(amount))
    assert fields.get("62", {}).get("08", "") == purpose_text(purpose)


def test_png_is_a_qr_of_the_right_size() -> None:
    text = payload("970436", "0011004123456", 1_250_000, "Ung ho MB33WJG5DJM")
    image = png(text, scale=4)
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", image[16:24])  # the IHDR chunk
    expected = segno.make_qr(text, error="m", boost_error=False)
    assert expected.error == "M"
    assert (width, height) == expected.symbol_size(scale=4, border=4)


@pytest.mark.parametrize(("name", "bin_"), [
    ("Vietcombank", "970436"), ("VietinBank", "970415"), ("BIDV", "970418"), ("Agribank", "970405"),
    ("Techcombank", "970407"), ("MB", "970422"), ("ACB", "970416"), ("VPBank", "970432"),
    ("Sacombank", "970403"), ("TPBank", "970423"), ("LPBank", "970449"), ("LienVietPostBank", "970449"),
    ("SHB", "970443"), ("HDBank", "970437"), ("VIB", "970441"), ("SeABank", "970440"), ("OCB", "970448"),
    ("MSB", "970426"), ("Eximbank", "970431"), ("Nam A Bank", "970428"), ("Bac A Bank", "970409"),
    ("vcb", "970436"), ("970409", "970409"), ("Ngân hàng TMCP Ngoại thương Việt Nam", "970436"),
    ("NGAN HANG TMCP DAU TU VA PHAT TRIEN VIET NAM", "970418"), ("ngân hàng tmcp sài gòn - hà nội", "970443"),
    ("Ngan hang TMCP Buu dien Lien Viet", "970449"), ("Nam Á", None), ("Ngân hàng Ma", None), ("", None),
])
def test_bank_bins(name: str, bin_: str | None) -> None:
    assert bank_bin(name) == bin_


def test_every_name_of_a_bank_finds_that_bank() -> None:
    for bank in banks():
        for name in (bank.bin, bank.code, bank.short_name, bank.name, *bank.aliases):
            assert find_bank(name) == bank, name
