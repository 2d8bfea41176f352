"""Each closed vocabulary is written once, in the domain, and the HTTP contract is built from it:
a fund, category, donor kind, channel, sex, match kind, statement format, proposal kind or
status added to the domain is offered (and refused no longer) by the API without another edit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters.statements.parse import PARSERS
from api import schemas
from api.app import create_app
from domain.bank import MATCH_KINDS, STATEMENT_FORMATS, STATEMENT_STATUSES
from domain.business_dates import DATE_BASES
from domain.children import SEXES
from domain.donors import DONOR_KINDS
from domain.goods import STOCK_LEVELS
from domain.money import CATEGORIES, FUNDS
from domain.proposals import KINDS as PROPOSAL_KINDS
from domain.proposals import STATUSES as PROPOSAL_STATUSES
from domain.receipts import CHANNELS

VOCABULARIES: dict[str, tuple[str, ...]] = {
    "fund": tuple(FUNDS), "category": tuple(CATEGORIES), "donor kind": DONOR_KINDS, "channel": CHANNELS,
    "sex": SEXES, "match kind": MATCH_KINDS, "statement format": STATEMENT_FORMATS,
    "proposal kind": PROPOSAL_KINDS, "proposal status": PROPOSAL_STATUSES,
    "statement status": STATEMENT_STATUSES, "stock level": STOCK_LEVELS, "date basis": DATE_BASES,
}
# The HTTP types built from them, and each field that uses one.
TYPES: dict[str, Any] = {
    "fund": schemas.Fund, "category": schemas.Category, "donor kind": schemas.DonorKind,
    "channel": schemas.Channel, "sex": schemas.Sex, "match kind": schemas.MatchKind,
    "statement format": schemas.StatementFormat, "proposal kind": schemas.ProposalKind,
    "proposal status": schemas.ProposalStatus, "statement status": schemas.StatementStatus,
    "stock level": schemas.StockLevel, "date basis": schemas.DateBasis,
}
FIELDS: list[tuple[type[BaseModel], str, str]] = [
    (schemas.DonorIn, "kind", "donor kind"),
    (schemas.ReceiptIn, "fund", "fund"), (schemas.ReceiptIn, "channel", "channel"),
    (schemas.Restriction, "category", "category"),
    (schemas.AllocationIn, "fund", "fund"), (schemas.AllocationIn, "category", "category"),
    (schemas.DistributionIn, "category", "category"), (schemas.NeedIn, "category", "category"),
    (schemas.ChildIn, "sex", "sex"), (schemas.BankAccountIn, "fund", "fund"),
    (schemas.MatchCreated, "kind", "match kind"),
    (schemas.ProposalCreated, "kind", "proposal kind"), (schemas.ProposalRow, "status", "proposal status"),
    (schemas.StatementReport, "status", "statement status"),
]
# Vocabularies of HTTP alone (the representation an answer is sent in), not the domain's.
HTTP_ONLY = [["json", "png"], ["json", "csv", "xlsx"]]


def _enums(node: object) -> Iterator[list[str]]:
    if isinstance(node, dict):
        if "enum" in node:
            yield node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app()  # services are only built by its lifespan, which never runs here


@pytest.mark.parametrize(("model", "field", "vocabulary"), FIELDS,
                         ids=[f"{m.__name__}.{f}" for m, f, _ in FIELDS])
def test_each_model_field_offers_exactly_the_domain_words_in_order(
        model: type[BaseModel], field: str, vocabulary: str) -> None:
    published = list(_enums(model.model_json_schema()["properties"][field]))
    assert published == [list(VOCABULARIES[vocabulary])]


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
def test_each_type_accepts_every_domain_word_and_refuses_others_as_a_literal(vocabulary: str) -> None:
    words, adapter = VOCABULARIES[vocabulary], TypeAdapter(TYPES[vocabulary])
    for word in words:
        assert adapter.validate_python(word) == word
        assert adapter.validate_json(f'"{word}"') == word
    for wrong in (f"{words[0]}-x", words[0].upper(), "", 1, None):
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(wrong)
        (error,) = refused.value.errors()
        # The 422 problem a client got when these were written out as Literal[...]: every word named.
        assert error["type"] == "literal_error"
        assert all(repr(word) in error["msg"] for word in words)


def test_the_published_openapi_has_no_enum_the_domain_does_not_define(app: FastAPI) -> None:
    published = list(_enums(app.openapi()))
    domain = [list(words) for words in VOCABULARIES.values()]
    assert [e for e in published if e not in domain and e not in HTTP_ONLY] == []
    # ... and every vocabulary reaches the document: the statement format as a form field, the
    # category as a query parameter too (of /balances/programmes and /balances/stock).
    assert all(words in published for words in domain)
    assert published.count(list(CATEGORIES)) == len([f for f in FIELDS if f[2] == "category"]) + 2


def test_a_word_added_to_a_vocabulary_is_offered_with_it() -> None:
    grown = {**FUNDS, "new-fund": {"name_vi": "Quỹ mới", "name_en": "New fund"}}
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, schemas.OneOf(grown)])
    assert adapter.json_schema() == {"enum": [*FUNDS, "new-fund"], "type": "string"}
    assert adapter.validate_python("new-fund") == "new-fund"
    with pytest.raises(ValueError, match="at least one word"):
        schemas.OneOf(())


def test_every_statement_format_has_its_parser() -> None:
    assert sorted(PARSERS) == sorted(STATEMENT_FORMATS)


def test_the_domain_refuses_a_sex_outside_its_vocabulary() -> None:
    # Not only HTTP: a command from the CLI or the demo is held to the same words.
    from domain.errors import InvalidInput
    from domain.inputs import check_personal

    assert check_personal({"full_name": "Lò Thị Mai", "sex": "female"})["sex"] == "female"
    with pytest.raises(InvalidInput, match="sex must be one of"):
        check_personal({"full_name": "Lò Thị Mai", "sex": "Nữ"})
