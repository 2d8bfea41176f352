"""What a bank line's text can tell about the ledger: receipt references, pledge payment codes, and how
alike two names are. Pure functions; the text of a transfer is a hint, never proof of who paid.

Receipt references are 'PT-' + year + the receipt's log position in at least six digits (see
ledger.application.receipt_reference). Banks mangle them: hyphens dropped or turned into spaces,
underscores or dots, lower case, run into the words around them ('UNG HO PT2021000123 TRE EM',
'pt 2021 000123', 'unghopt2021000123treem'). A reference is 'PT', a 19xx/20xx year and the number,
each part separated by up to three of space, '-', '_', '.' ('PT - 2021 - 000123'). Letters may
touch it on either side, because people type transfer texts without spaces; the ledger confirms
that a reference exists before it is used. A number written with six digits keeps them; a longer
run of digits that starts with 0 is taken as six digits glued to other digits, since positions above
999,999 are written without leading zeros.

Payment codes: 'MB' + 8 data characters + 1 check character, 11 characters in all, in Crockford's
base-32 alphabet (0-9 and A-Z without I, L, O, U). The 40 data bits are the first 5 bytes of
SHA-256 of the pledge's UUID (its 16 bytes), so any kind of UUID gives evenly spread codes. The check
character is the weighted sum of the 8 data values with the odd weights 1, 3, 5, … 15, modulo 32:
as every weight is odd, changing any one character, data or check, always gives a code that fails the
check. Reading is case-insensitive, takes I and L as 1 and O as 0 (Crockford), and allows one space,
'-', '_' or '.' between any two characters, which banks insert when they wrap or reformat text.
With 40 bits, two pledges share a code with probability about n²/2⁴¹ (0.5% for 100,000 pledges): the
caller must treat a code that names several pledges as no match.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from uuid import UUID

from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from domain.text import fold

_SEP = r"[\s\-_.]"
_REFERENCE = re.compile(rf"pt{_SEP}{{0,3}}((?:19|20)\d\d){_SEP}{{0,3}}(\d{{6,}})")

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(_ALPHABET)} | {"I": 1, "L": 1, "O": 0}
_PREFIX = "MB"
_DATA_LENGTH = 8
_SYMBOL = "[0-9A-HJ-NP-TV-Z]"  # the alphabet with the readable aliases I, L, O: everything but U
_CODE = re.compile(rf"(?=(M{_SEP}?B{_SEP}?(?:{_SYMBOL}{_SEP}?){{{_DATA_LENGTH}}}{_SYMBOL}))")


def find_receipt_references(text: str) -> list[str]:
    """Receipt references in a transfer text, canonical ('PT-2021-000123'), in order, without repeats."""
    found: list[str] = []
    for match in _REFERENCE.finditer(fold(text)):
        year, number = match.group(1), match.group(2)
        if len(number) > 6 and number.startswith("0"):
            number = number[:6]
        reference = f"PT-{year}-{number}"
        if reference not in found:
            found.append(reference)
    return found


def _check(values: list[int]) -> int:
    return sum((2 * i + 1) * value for i, value in enumerate(values)) % 32


def payment_code(pledge_id: UUID) -> str:
    """The pledge's payment code, e.g. 'MB4D7Q2XK9C' (see the module's docstring)."""
    bits = int.from_bytes(hashlib.sha256(pledge_id.bytes).digest()[:5], "big")
    values = [(bits >> (5 * (_DATA_LENGTH - 1 - i))) & 31 for i in range(_DATA_LENGTH)]
    return _PREFIX + "".join(_ALPHABET[v] for v in values) + _ALPHABET[_check(values)]


def find_payment_codes(text: str) -> list[str]:
    """Payment codes with a valid check character in a transfer text, canonical, in order, no repeats."""
    found: list[str] = []
    for match in _CODE.finditer(fold(text).upper()):
        symbols = re.sub(_SEP, "", match.group(1))[len(_PREFIX):]
        values = [_VALUE[ch] for ch in symbols]
        if _check(values[:-1]) != values[-1]:
            continue
        code = _PREFIX + "".join(_ALPHABET[v] for v in values)
        if code not in found:
            found.append(code)
    return found


@lru_cache(maxsize=1 << 16)  # the same donor and counterparty names come back line after line
def _name_key(name: str) -> str:
    return default_process(fold(name))


def name_similarity(a: str, b: str) -> float:
    """How alike two names are, in [0, 1], ignoring case, diacritics, punctuation, spacing and word order
    ('NGUYEN VAN AN' and 'Nguyễn Văn An' → 1.0); 0.0 when either is empty.

    rapidfuzz (a maintained C++ library) computes the token-sorted edit-distance ratio in about a
    microsecond, which matters at 300,000 bank lines times a few candidate donors each."""
    key_a, key_b = _name_key(a), _name_key(b)
    if not key_a or not key_b:
        return 0.0
    return float(fuzz.token_sort_ratio(key_a, key_b, processor=None)) / 100.0
