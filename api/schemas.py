"""Request and response models: the HTTP contract of DESIGN §7, validated by pydantic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationInfo,
    model_validator,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from domain.bank import MATCH_KINDS, STATEMENT_FORMATS, STATEMENT_STATUSES
from domain.business_dates import DATE_BASES
from domain.children import SEXES
from domain.dates import DEFAULT_WINDOW, DateWindow, check_date, parse_iso_date
from domain.donors import DONOR_KINDS
from domain.errors import InvalidInput
from domain.goods import STOCK_LEVELS
from domain.money import CATEGORIES, FUNDS, MAX_AMOUNT_VND, MAX_QUANTITY, SEASON_PATTERN
from domain.proposals import KINDS as PROPOSAL_KINDS
from domain.proposals import STATUSES as PROPOSAL_STATUSES
from domain.receipts import CHANNELS
from domain.text import MAX_CODE, MAX_NAME, MAX_NOTE, MAX_TEXT, check_text

# ---- text and dates: the domain's own rules (domain.text, domain.dates), refused as 422 -----------


def _text_rule(max_length: int, *, multiline: bool = False,
               required: bool = False) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        try:
            return check_text(value, info.field_name or "text", max_length=max_length,
                              multiline=multiline, required=required)
        except InvalidInput as e:
            # The message names the field and the code point, never the value (it may be a
            # child's name, or a lone surrogate that can't be written back as UTF-8).
            raise PydanticCustomError("text_invalid", "{detail}", {"detail": e.detail}) from None
    return check


def _limits(max_length: int, required: bool = False) -> Any:
    # The length is checked by the rule, after NFC (a name typed decomposed is longer before);
    # the schema still tells clients the limit.
    return Field(json_schema_extra={"maxLength": max_length, **({"minLength": 1} if required else {})})


# One line of free text; a name (one line, not empty); a note (tabs and line breaks allowed); a
# reason (a note, not empty); an id someone else wrote (a bank's transaction id).
Text = Annotated[str, AfterValidator(_text_rule(MAX_TEXT)), _limits(MAX_TEXT)]
Name = Annotated[str, AfterValidator(_text_rule(MAX_NAME, required=True)), _limits(MAX_NAME, True)]
Note = Annotated[str, AfterValidator(_text_rule(MAX_NOTE, multiline=True)), _limits(MAX_NOTE)]
Reason = Annotated[str, AfterValidator(_text_rule(MAX_NOTE, multiline=True, required=True)),
                   _limits(MAX_NOTE, True)]
Identifier = Annotated[str, AfterValidator(_text_rule(MAX_CODE, required=True)), _limits(MAX_CODE, True)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
Season = Annotated[str, Field(pattern=SEASON_PATTERN, examples=["2021"])]

_dates = DEFAULT_WINDOW


def use_date_window(window: DateWindow) -> None:
    """The window of business dates the HTTP layer refuses outside (the ledger's own, from settings)."""
    global _dates
    _dates = window


def _business_date(value: object, info: ValidationInfo) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = value.isoformat()  # a date given from Python, not JSON
    try:
        return dt.date.fromisoformat(check_date(value, info.field_name or "date", _dates))
    except InvalidInput as e:
        raise PydanticCustomError("date_invalid", "{detail}", {"detail": e.detail}) from None


# `YYYY-MM-DD` text only (never a number read as a timestamp, never a date-time), in the window.
BusinessDate = Annotated[dt.date, BeforeValidator(_business_date)]


def _query_date(value: object, info: ValidationInfo) -> dt.date:
    try:
        return parse_iso_date(value, info.field_name or "date")
    except InvalidInput as e:
        raise PydanticCustomError("date_invalid", "{detail}", {"detail": e.detail}) from None


# A date that only filters (a period's ends, "as of"): any day, but written `YYYY-MM-DD` only.
QueryDate = Annotated[dt.date, BeforeValidator(_query_date)]
Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT_VND, strict=True)]
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]


# ---- the domain's closed vocabularies ---------------------------------------------------------


class OneOf:
    """`Annotated[str, OneOf(words)]`: a string that must be one of the domain's words, validated and
    published exactly as `Literal[...]` of those words would be (an `enum` in the OpenAPI, a
    `literal_error` 422 for anything else). The words are read from the domain's own tuple, so a word
    added there reaches the API with no edit here: a `Literal` built from a tuple is no type to mypy."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(words)
        if not self.words:
            raise ValueError("a vocabulary has at least one word")

    def __repr__(self) -> str:
        return f"OneOf({self.words!r})"

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.literal_schema(list(self.words))


Category = Annotated[str, OneOf(CATEGORIES)]
Fund = Annotated[str, OneOf(FUNDS)]
DonorKind = Annotated[str, OneOf(DONOR_KINDS)]
Channel = Annotated[str, OneOf(CHANNELS)]
Sex = Annotated[str, OneOf(SEXES)]
MatchKind = Annotated[str, OneOf(MATCH_KINDS)]
StatementFormat = Annotated[str, OneOf(STATEMENT_FORMATS)]
ProposalKind = Annotated[str, OneOf(PROPOSAL_KINDS)]
ProposalStatus = Annotated[str, OneOf(PROPOSAL_STATUSES)]
StatementStatus = Annotated[str, OneOf(STATEMENT_STATUSES)]
StockLevel = Annotated[str, OneOf(STOCK_LEVELS)]
DateBasis = Annotated[str, OneOf(DATE_BASES)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Restriction(Model):
    district: Code | None = None
    commune: Code | None = None
    category: Category | None = None


class Goods(Model):
    item: Name
    unit: Name
    quantity: Quantity
    unit_value_vnd: Amount


class CashOrGoods(Model):
    amount_vnd: Amount | None = None
    in_kind: Goods | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CashOrGoods:
        if (self.amount_vnd is None) == (self.in_kind is None):
            raise ValueError("give exactly one of amount_vnd or in_kind")
        return self


class DonorIn(Model):
    name: Name
    kind: DonorKind
    public_name: Name | None = None
    anonymous: bool = False
    contact: Text | None = None


class PledgeIn(CashOrGoods):
    donor_id: UUID
    restriction: Restriction | None = None
    due_on: BusinessDate | None = None
    mobilised_by: Name | None = None
    note: Note | None = None


# An admin's reason to record an entry dated inside a closed season (else 409 season_closed);
# kept sealed, while the public season page lists the entry as recorded after closing.
AfterClosingReason = Annotated[Note | None, Field(description=(
    "An admin's reason to record this inside a closed season (else refused with season_closed); "
    "the public season page lists it as recorded after closing."))]


class ReceiptIn(CashOrGoods):
    donor_id: UUID
    fund: Fund
    received_on: BusinessDate
    channel: Channel
    restriction: Restriction | None = None
    pledge_id: UUID | None = None
    bank_txn_id: Identifier | None = None
    mobilised_by: Name | None = None
    note: Note | None = None
    after_closing_reason: AfterClosingReason = None


class GoodsWanted(Model):
    """Goods from the fund's stock: an item is its name and its unit, each compared without
    regard to case, diacritics or spacing ("Áo ấm" = "ÁO ẤM"; "chiếc" = "cái"), so "Áo ấm" by
    the piece ("cái") and by the box ("thùng") are two items and one never pays for the other."""

    item: Name
    unit: Annotated[Name, Field(description=(
        "Required: the unit the goods were received in (cái, thùng, hộp, kg…); "
        "only receipts of this item in this unit are drawn on."))]
    quantity: Quantity


class AllocationIn(Model):
    fund: Fund
    season: Season
    commune: Code
    category: Category
    amount_vnd: Amount | None = None
    in_kind: GoodsWanted | None = None
    decision_ref: Annotated[Name, Field(description=(
        "The official decision this allocation carries out (QĐ 1557/QĐ-UBND ngày 06/9/2021). "
        "Public: shown on the donation pages and in the allocation's leaf; a person's name "
        "does not belong here (use `note`, which stays sealed)."))]
    note: Note | None = None
    override_reason: Annotated[Note | None, Field(description=(
        "An admin's reason to act for a commune not flagged extremely difficult (else refused "
        "with commune_not_eligible); recorded, and overrides are counted on the public pages."))] = None
    after_closing_reason: AfterClosingReason = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AllocationIn:
        if (self.amount_vnd is None) == (self.in_kind is None):
            raise ValueError("give exactly one of amount_vnd or in_kind")
        return self


class LineIn(Model):
    child_id: UUID | None = None
    description: Text = ""
    quantity: Quantity = 1
    value_vnd: Amount | None = None
    item: Name | None = None
    unit: Annotated[Name | None, Field(description=(
        "Required with `item`: the unit of the goods taken from the programme's stock, matched "
        "as an allocation's `in_kind.unit` is."))] = None

    @model_validator(mode="after")
    def _cash_or_goods(self) -> LineIn:
        if (self.value_vnd is None) == (self.item is None):
            raise ValueError("a line gives value_vnd (money) or item (goods from stock)")
        if (self.item is None) != (self.unit is None):
            raise ValueError("a line of goods gives both item and unit; a line of money neither")
        return self


class DistributionIn(Model):
    season: Season
    commune: Code
    category: Category
    distributed_on: BusinessDate
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]
    beneficiaries_count: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] | None = None
    duplicate_reason: Note | None = None
    after_closing_reason: AfterClosingReason = None


class ReversalIn(Model):
    target_id: UUID
    reason: Reason


class ChildIn(Model):
    commune: Code
    full_name: Name
    birth_year: Annotated[int, Field(ge=1990, le=2100, strict=True)]
    sex: Sex | None = None
    ethnicity: Name | None = None
    guardian_name: Name | None = None
    circumstances: Note | None = None


class NeedIn(Model):
    season: Season
    commune: Code
    category: Category
    children_count: Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
    estimated_vnd: Annotated[int, Field(ge=0, le=MAX_AMOUNT_VND, strict=True)]
    note: Note | None = None
    override_reason: Annotated[Note | None, Field(description=(
        "An admin's reason to act for a commune not flagged extremely difficult (else refused "
        "with commune_not_eligible); recorded, and overrides are counted on the public pages."))] = None
    after_closing_reason: AfterClosingReason = None


# ---- responses ------------------------------------------------------------------------------

class Created(BaseModel):
    id: UUID
    position: int


class PledgeCreated(Created):
    payment_code: str  # for the transfer's purpose: a payment carrying it matches by itself


class ReceiptCreated(Created):
    reference: str


class Draw(BaseModel):
    receipt_id: UUID
    amount_vnd: int
    quantity: int
    item: str | None
    unit: str | None = None  # the goods' unit as their receipt recorded it


class AllocationCreated(Created):
    amount_vnd: int
    drawn_from: list[Draw]


class DistributionCreated(Created):
    total_vnd: int
    overrides: int


class ReversalCreated(Created):
    target_id: UUID


class ChildCreated(Created):
    code: str
    # Likely second registrations of this child (same folded name, birth year and commune): the
    # registration stands; merge the records if they are one child. Empty on a replay of an
    # answer stored before the warning existed.
    possible_duplicates: list[UUID] = Field(default_factory=list)


class ChildMergeIn(Model):
    into: UUID  # the record kept
    reason: Reason


class ChildTransferIn(Model):
    commune: Code  # where the child lives now
    reason: Reason


# ---- corrections (issue 12): each field left out stays as recorded; the reason is required ----

class DonorCorrectionIn(Model):
    name: Name | None = None
    public_name: Name | None = None
    anonymous: bool | None = None
    kind: DonorKind | None = None
    contact: Text | None = None
    reason: Reason


class ChildCorrectionIn(Model):
    full_name: Name | None = None
    birth_year: Annotated[int, Field(ge=1990, le=2100, strict=True)] | None = None
    sex: Sex | None = None
    ethnicity: Name | None = None
    guardian_name: Name | None = None
    circumstances: Note | None = None
    reason: Reason


class NeedCorrectionIn(Model):
    children_count: Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
    estimated_vnd: Annotated[int, Field(ge=0, le=MAX_AMOUNT_VND, strict=True)]
    reason: Reason


class ChildFound(BaseModel):
    """A child found by code or name: ids, codes and places only (personal data is read through
    the child's history)."""

    id: UUID
    code: str
    district: str
    commune: str
    registered_position: int | None = None
    merged_into: UUID | None = None


class ChildrenFound(BaseModel):
    items: list[ChildFound]
    next_cursor: None = None


class DuplicateChild(BaseModel):
    id: UUID
    code: str
    commune: str


class DuplicateGroup(BaseModel):
    match: UUID  # an opaque id of the group, stable while it lasts
    children: list[DuplicateChild]


class DuplicateGroups(BaseModel):
    items: list[DuplicateGroup]
    next_cursor: None = None


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: int | str | None = None


class StockRow(BaseModel):
    """Goods in stock of one item in one unit. `level` "fund": in a fund under one restriction
    (`restriction` as in /balances/funds), received and not yet allocated; `level` "programme":
    in a programme (`season, district, commune, category`), from the fund `fund`, allocated and
    not yet distributed. Figures net of reversals; `value_vnd` is the value of what is in stock
    (each piece at its receipt's unit value). The item's and unit's names are the first recorded."""

    level: str
    fund: str
    restriction: str | None
    season: str | None
    district: str | None
    commune: str | None
    category: str | None
    item: str
    unit: str
    received_quantity: int | None = Field(description="fund level: received; null for a programme")
    allocated_quantity: int = Field(description="fund level: taken by allocations; programme: allocated in")
    distributed_quantity: int | None = Field(description="programme level: distributed; null for a fund")
    in_stock_quantity: int
    value_vnd: int


class StockPage(BaseModel):
    items: list[StockRow]
    next_cursor: int | str | None = None


# ---- bank reconciliation ------------------------------------------------------------------

class BankAccountIn(Model):
    code: Code
    bank: Name  # a bank's short name, full name or NAPAS BIN ("Vietcombank", "970436")
    account_number: Annotated[str, Field(min_length=4, max_length=34, pattern=r"^[A-Za-z0-9 ]+$")]
    fund: Fund
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217: what the account is "
                                   "kept in; a foreign account's lines are turned to đồng at a rate")] = "VND"


class ReceiptFromLine(Model):
    donor_id: UUID | None = None
    restriction: Restriction | None = None
    note: Note | None = None
    # A foreign line the bank gave no rate for: đồng per unit, and where the officer took it from.
    rate: Annotated[str | None, Field(pattern=r"^[0-9]{1,12}(\.[0-9]{1,12})?$",
                                      description="đồng per unit of the line's currency")] = None
    rate_source: Text | None = None


class MatchIn(Model):
    """Either `target_id` (confirm a match) or `create_receipt` (an unmatched credit becomes a
    receipt, matched to it)."""

    bank_line_id: UUID
    target_id: UUID | None = None
    create_receipt: ReceiptFromLine | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MatchIn:
        if (self.target_id is None) == (self.create_receipt is None):
            raise ValueError("give exactly one of target_id or create_receipt")
        return self


class UndoIn(Model):
    reason: Reason


class StatementReport(Model):
    """One statement of an imported file: where it went, and how its lines stand."""

    account: Annotated[str | None, Field(description="the registered account's code; null when "
                                                     "the statement's account is not registered")]
    account_number: Annotated[str | None, Field(description="the account (number or IBAN) as the file"
                                                            " names it")]
    currency: str
    from_: Annotated[str | None, Field(alias="from")] = None
    to: str | None = None
    statement_id: UUID | None = None
    position: int | None = None
    lines: int
    new_lines: int
    matched: int
    suggested: int
    unmatched: int
    status: StatementStatus


class StatementImported(Model):
    """The file's totals over the statements imported (`statement_id`: the one of the account
    uploaded to, else the first imported), and each statement of the file."""

    statement_id: UUID
    position: int
    lines: int
    new_lines: int
    matched: int
    suggested: int
    unmatched: int
    statements: list[StatementReport] = []


class MatchCreated(Created):
    bank_line_id: UUID
    target_id: UUID
    kind: MatchKind | None = None
    donor_id: UUID | None = None  # when the match made a receipt: its donor, found or new


# ---- four eyes (issue 12, item 8) ---------------------------------------------------------

class ProposalCreated(Created):
    """202: above the four-eyes amount the command is recorded as a proposal (`id` is the
    proposal's): nothing took effect until another finance or admin approves it."""

    proposal_id: UUID
    status: Annotated[str, Field(description='"proposed"')]
    kind: ProposalKind
    amount_vnd: int


class ApprovalIn(Model):
    reason: Note | None = None


class RejectionIn(Model):
    reason: Reason


class ProposalDecided(Created):
    """An approval answers what it made (`id`: the allocation or the reversal, with that
    command's own fields); a rejection answers the proposal's id."""

    proposal_id: UUID
    status: Annotated[str, Field(description='"approved" or "rejected"')]
    kind: ProposalKind
    amount_vnd: int | None = None
    drawn_from: list[Draw] | None = None
    target_id: UUID | None = None


class ProposalRow(BaseModel):
    id: UUID
    position: int
    kind: ProposalKind
    status: ProposalStatus
    amount_vnd: int
    proposer: str
    proposer_role: str
    created_at: str
    arguments: dict[str, Any]
    decided_by: str | None = None
    decided_at: str | None = None
    decision_reason: str | None = None
    result_id: UUID | None = None


class Proposals(BaseModel):
    items: list[ProposalRow]
    next_cursor: int | None = None
