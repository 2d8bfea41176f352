"""Request and response models: the HTTP contract of DESIGN §7, validated by pydantic."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.money import MAX_AMOUNT_VND, MAX_QUANTITY


def _nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


Text = Annotated[str, AfterValidator(_nfc), Field(max_length=500)]
Name = Annotated[str, AfterValidator(_nfc), Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
Season = Annotated[str, Field(pattern=r"^\d{4}(-[a-z0-9-]{1,20})?$", examples=["2021"])]
Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT_VND, strict=True)]
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]
Category = Literal["nutrition-health", "play-recreation", "warm-clothing", "tet-gifts", "other"]
Fund = Literal["child-protection-fund", "fund-for-the-poor", "state-budget", "campaign"]


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
    kind: Literal["individual", "business", "organisation", "fund", "agency"]
    public_name: Name | None = None
    anonymous: bool = False
    contact: Text | None = None


class PledgeIn(CashOrGoods):
    donor_id: UUID
    restriction: Restriction | None = None
    due_on: dt.date | None = None
    mobilised_by: Text | None = None
    note: Text | None = None


class ReceiptIn(CashOrGoods):
    donor_id: UUID
    fund: Fund
    received_on: dt.date
    channel: Literal["bank", "cash", "in_kind"]
    restriction: Restriction | None = None
    pledge_id: UUID | None = None
    bank_txn_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    mobilised_by: Text | None = None
    note: Text | None = None


class GoodsWanted(Model):
    item: Name
    quantity: Quantity


class AllocationIn(Model):
    fund: Fund
    season: Season
    commune: Code
    category: Category
    amount_vnd: Amount | None = None
    in_kind: GoodsWanted | None = None
    decision_ref: Name
    note: Text | None = None

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

    @model_validator(mode="after")
    def _cash_or_goods(self) -> LineIn:
        if (self.value_vnd is None) == (self.item is None):
            raise ValueError("a line gives value_vnd (money) or item (goods from stock)")
        return self


class DistributionIn(Model):
    season: Season
    commune: Code
    category: Category
    distributed_on: dt.date
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=1000)]
    beneficiaries_count: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    duplicate_reason: Text | None = None


class ReversalIn(Model):
    target_id: UUID
    reason: Name


class ChildIn(Model):
    commune: Code
    full_name: Name
    birth_year: Annotated[int, Field(ge=1990, le=2100)]
    sex: Literal["female", "male", "other"] | None = None
    ethnicity: Text | None = None
    guardian_name: Name | None = None
    circumstances: Text | None = None


class NeedIn(Model):
    season: Season
    commune: Code
    category: Category
    children_count: Annotated[int, Field(ge=0, le=1_000_000)]
    estimated_vnd: Annotated[int, Field(ge=0, le=MAX_AMOUNT_VND)]
    note: Text | None = None


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


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: int | str | None = None


# ---- bank reconciliation ------------------------------------------------------------------

class BankAccountIn(Model):
    code: Code
    bank: Name  # a bank's short name, full name or NAPAS BIN ("Vietcombank", "970436")
    account_number: Annotated[str, Field(min_length=4, max_length=34, pattern=r"^[A-Za-z0-9 ]+$")]
    fund: Fund


class ReceiptFromLine(Model):
    donor_id: UUID | None = None
    restriction: Restriction | None = None
    note: Text | None = None


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
    reason: Name


class StatementImported(Model):
    statement_id: UUID
    position: int
    lines: int
    new_lines: int
    matched: int
    suggested: int
    unmatched: int


class MatchCreated(Created):
    bank_line_id: UUID
    target_id: UUID
    kind: Literal["receipt", "distribution"] | None = None
    donor_id: UUID | None = None  # when the match made a receipt: its donor, found or new
