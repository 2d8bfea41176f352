"""Fuzzing the statement parsers: for any bytes, and for near-valid files with hostile strings or
broken bytes in them, a parser returns lines or raises StatementError with a `statement_*` code,
never another exception, and no returned text holds what the domain's text rule refuses."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from adapters.statements import (
    ERROR_CODES,
    Statement,
    StatementError,
    detect_format,
    parse_statement,
    write_camt053,
    write_csv,
    write_xlsx,
)
from domain.bank import STATEMENT_FORMATS
from domain.text import MAX_NOTE, check_text
from tests.unit.test_statements import small_statement

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FORMATS = (None, *STATEMENT_FORMATS)
WRITERS: dict[str, Callable[[Statement], bytes]] = {
    "csv": write_csv, "xlsx": write_xlsx, "camt053": write_camt053}

# Written once: an XLSX holds the time it was written, and hypothesis replays need the same bytes.
ORIGINALS = {format: writer(small_statement()) for format, writer in WRITERS.items()}

# Strings made to hurt: controls, surrogates, bidi and zero-width characters among ordinary text.
HOSTILE = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),  # any code point, surrogates included
        st.sampled_from("\x00\x07\x1b\x7f\x85\u202a\u202e\u2066\u2069\u200b\u200d\u2060\ufeff\u061c"
                        "\u2028\ud800\udfff\t\n\r;,\"'<>&="),
    ),
    max_size=40)


def parse_or_refuse(data: bytes, format: str | None) -> Statement | None:
    try:
        statement = parse_statement(data, format)
    except StatementError as e:
        assert e.code in ERROR_CODES and e.code.startswith("statement_")
        e.detail.encode("utf-8")  # always writable in a problem+json answer
        return None
    for line in statement.lines:
        for text in (line.counterparty, line.description, line.bank_txn_id, line.counterparty_account,
                     line.key):
            if text is not None:
                # Unchanged by the rule: nothing in it that a read model can't hold or a page shows
                # as something else.
                assert check_text(text, "field", max_length=MAX_NOTE) == text
    for text in (statement.account_number, statement.statement_id):
        if text is not None:
            assert check_text(text, "field") == text
    return statement


@FUZZ
@given(data=st.binary(max_size=4096), format=st.sampled_from(FORMATS))
def test_any_bytes_are_parsed_or_refused(data: bytes, format: str | None) -> None:
    parse_or_refuse(data, format)


@FUZZ
@given(data=st.binary(max_size=512), filename=st.none() | st.text(max_size=20))
def test_the_detector_names_a_format_or_refuses(data: bytes, filename: str | None) -> None:
    try:
        assert detect_format(data, filename) in WRITERS
    except StatementError as e:
        assert e.code == "statement_format_unknown"


@FUZZ
@given(format=st.sampled_from(sorted(WRITERS)), field=st.sampled_from(
    ["counterparty", "description", "bank_txn_id", "counterparty_account"]), text=HOSTILE,
    row=st.integers(0, 1))
def test_hostile_strings_in_a_valid_file(format: str, field: str, text: str, row: int) -> None:
    statement = small_statement()
    lines = list(statement.lines)
    lines[row] = replace(lines[row], **{field: text})  # type: ignore[arg-type]
    try:
        data = WRITERS[format](replace(statement, lines=tuple(lines)))
    except (ValueError, UnicodeEncodeError, IllegalCharacterError):
        return  # the writer itself can't write it (a surrogate, a control in XML): nothing to parse
    parse_or_refuse(data, format)
    parse_or_refuse(data, None)


@FUZZ
@given(format=st.sampled_from(sorted(WRITERS)), data=st.data())
def test_broken_bytes_in_a_valid_file(format: str, data: st.DataObject) -> None:
    original = bytearray(ORIGINALS[format])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(original) // 2, len(original)))
    parse_or_refuse(bytes(original[:cut]), data.draw(st.sampled_from((None, format))))


def test_many_seeded_mutations_of_each_format() -> None:
    """Broad and cheap, beside hypothesis: bytes changed anywhere (the zip's directory, the deflate
    stream, an XML declaration), which found zlib, NotImplementedError and LookupError escapes."""
    rng = random.Random(9)
    for original in ORIGINALS.values():
        for _ in range(400):
            mutated = bytearray(original)
            for _ in range(rng.randint(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            parse_or_refuse(bytes(mutated), None)
