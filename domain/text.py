"""Vietnamese text rules: one check for every boundary, NFC everywhere, and a folded form for
matching ("Nguyễn" ~ "NGUYEN").

`check_text` is the single rule that every way in (HTTP, CLI, demo, statement import, a direct
ledger call) applies before anything is recorded: a stored string must be one that every read
model, export and page can hold and show as it is. PostgreSQL text refuses NUL; lone surrogates
can't be encoded as UTF-8; control, bidi and zero-width characters make one name look like
another on a public page.
"""

from __future__ import annotations

import re
import unicodedata

from domain.errors import InvalidInput

_SPACES = re.compile(r"\s+")

MAX_NAME = 200  # a person's, organisation's, item's or bank's name; a decision's number
MAX_TEXT = 500  # one line of free text: a contact, a transfer text, a line description
MAX_NOTE = 2000  # a multi-line note or reason
MAX_CODE = 100  # an identifier written by someone else: a bank transaction id, a request id

# Unicode's format characters (category Cf, Unicode 14-15): bidi marks, embeddings, overrides and
# isolates, zero-width space and joiners, word joiner, BOM, soft hyphen, tags… Listed rather than
# computed at import so that the rule is visible and loads instantly; a unit test checks the list
# against the running Python's Unicode database.
_FORMAT = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)
_OTHERS = (
    (0x0000, 0x0008), (0x000B, 0x000C), (0x000E, 0x001F),  # C0 controls but tab, LF and CR
    (0x007F, 0x009F),  # DEL and the C1 controls
    (0xD800, 0xDFFF),  # surrogates: never a character on their own
    (0x2028, 0x2029),  # line and paragraph separators: invisible line breaks
    (0xFDD0, 0xFDEF), *((plane + 0xFFFE, plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000)),
)


def _class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
                   for a, b in ranges)


_FORBIDDEN_IN_NOTES = re.compile(f"[{_class(_OTHERS + _FORMAT)}]")
_FORBIDDEN_IN_LINES = re.compile(f"[{_class(_OTHERS + _FORMAT)}\t\n\r]")
_FORBIDDEN_IN_ASCII = re.compile("[\x00-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n?")


def _describe(ch: str) -> str:
    code = ord(ch)
    if code == 0:
        what = "a NUL character"
    elif 0xD800 <= code <= 0xDFFF:
        what = "a lone surrogate"
    elif ch in "\t\n\r":
        what = "a tab or line break, allowed only in notes"
    elif code < 0x20 or 0x7F <= code <= 0x9F:
        what = "a control character"
    elif unicodedata.category(ch) == "Cf":
        what = "an invisible formatting character (bidi or zero-width)"
    else:
        what = "a character that is not text"
    # Only the code point is named: the value itself may be personal data, or unprintable.
    return f"{what} (U+{code:04X})"


def check_text(value: object, field: str, *, max_length: int = MAX_TEXT, multiline: bool = False,
               required: bool = False) -> str:
    """The text as it may be stored: NFC, trimmed, one line with runs of spaces made one (or, for a
    multi-line note, with CRLF made LF); refused with InvalidInput naming `field` if it holds a
    character no read model should hold or is longer than `max_length` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    if not multiline and value.isascii():
        # Most text (every bank's) is plain ASCII: the same rule, several times faster.
        if (bad := _FORBIDDEN_IN_ASCII.search(value)) is not None:
            raise InvalidInput(f"{field} holds {_describe(bad.group())} at character {bad.start() + 1}")
        text = " ".join(value.split())
        if len(text) > max_length:
            raise InvalidInput(f"{field} is {len(text)} characters long; at most {max_length} are allowed")
        if required and not text:
            raise InvalidInput(f"{field} must not be empty")
        return text
    if multiline:
        value = _NEWLINES.sub("\n", value)
    found = (_FORBIDDEN_IN_NOTES if multiline else _FORBIDDEN_IN_LINES).search(value)
    if found is not None:
        raise InvalidInput(f"{field} holds {_describe(found.group())} at character {found.start() + 1}")
    text = unicodedata.normalize("NFC", value).strip() if multiline else nfc(value)
    if len(text) > max_length:
        raise InvalidInput(f"{field} is {len(text)} characters long; at most {max_length} are allowed")
    if required and not text:
        raise InvalidInput(f"{field} must not be empty")
    return text


def check_optional(value: object, field: str, *, max_length: int = MAX_TEXT,
                   multiline: bool = False) -> str | None:
    """check_text for an optional field: None stays None, and so does text that is only spaces."""
    if value is None:
        return None
    return check_text(value, field, max_length=max_length, multiline=multiline) or None


def nfc(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Lower case, no diacritics, đ→d: the key for search and matching."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def format_vnd(amount_vnd: int) -> str:
    """1250000 → '1.250.000 ₫' (Vietnamese grouping)."""
    sign = "-" if amount_vnd < 0 else ""
    return f"{sign}{abs(amount_vnd):,}".replace(",", ".") + " ₫"
