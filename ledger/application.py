"""The ledger application: one method per command (DESIGN §7), each one atomic.

Every command checks its input, then gives the command runner (ledger/command_runner.py) a
`build` that loads the aggregates it touches, lets them check the money rules, and returns them
with the answer; the runner saves all their new events in one transaction, at most once per
Idempotency-Key, and builds again on fresh state when another command changed one of those
aggregates meanwhile. The store itself is the eventsourcing library's (SQLite or PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, NamedTuple, Protocol, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.application import AggregateNotFoundError, project_aggregate
from eventsourcing.domain import Aggregate

from domain import privacy
from domain.allocations import Allocation, plan_draws
from domain.areas import AreaTree
from domain.children import Child, ChildKeys, MemoryChildKeys
from domain.claims import Claim, claim_id
from domain.dates import DEFAULT_WINDOW, DateWindow, check_date, check_optional_date
from domain.distributions import Distribution
from domain.donors import DONOR_KINDS, Donor, DonorKeys, MemoryDonorKeys, Pledge
from domain.errors import (
    AlreadyRecorded,
    ChildElsewhere,
    DomainError,
    InvalidInput,
    NotFound,
    PartnerUnknown,
    TotalLimitReached,
)
from domain.goods import GoodsKey, describe, goods_key
from domain.ids import as_id, child_code, need_id, partners_id, programme_id, seasons_id
from domain.inputs import CHILD_MAX_AGE, as_uuid, check_channel, check_child_age, check_note, check_personal
from domain.leaf import ANONYMOUS, receipt_reference
from domain.meta import Context, Meta
from domain.money import (
    MAX_TOTAL_VND,
    Goods,
    Restriction,
    check_amount,
    check_category,
    check_count,
    check_fund,
    check_quantity,
    check_season,
    goods_value,
    normalise_restriction,
)
from domain.needs import Need
from domain.partners import PLAN_PARTNERS, Partner, Partners, partner_code
from domain.programmes import Programme
from domain.proposals import FOUR_EYES_VND, Proposal, needs_second_person
from domain.receipts import Receipt
from domain.seasons import AfterClosing, Season, Seasons
from domain.text import MAX_CODE, MAX_NAME, MAX_NOTE, check_optional, check_text, fold
from ledger.answers import (
    Allocated,
    ChildRegistered,
    Created,
    Decided,
    Distributed,
    Proposed,
    ReceiptRecorded,
    Reversed,
    answer_draw,
)
from ledger.command_reads import CommandReads
from ledger.command_runner import CommandRunner, PositionOf
from ledger.group_commit import GroupCommitApplication

MAX_LINES = 1000

A = TypeVar("A", bound=Aggregate)


class OpenReceipts(Protocol):
    """Ids of receipts that may still pay for (fund, goods, place, category), oldest first;
    `goods` is the goods' key text (`GoodsKey.text()`, item and unit folded), None for money.

    A read model may lag or be stale: the ledger re-reads each receipt from the log before
    drawing on it, so a stale answer costs a retry, never a broken rule."""

    def __call__(self, fund: str, goods: str | None, district: str, commune: str,
                 category: str) -> Iterable[UUID]: ...


class Totals(Protocol):
    """An upper bound of a ledger-wide total (one of money.TOTALS) as the log stands now, from
    the read models; `exact` asks for the figure itself (the read models brought up to date)."""

    def __call__(self, figure: str, *, exact: bool) -> int: ...


def no_totals(figure: str, *, exact: bool) -> int:
    """For a ledger without read models (unit tests): nothing counted, so no limit is reached."""
    return 0


class Approval(NamedTuple):
    """A command carried out because a second person approved its proposal (four eyes)."""

    proposal_id: UUID
    reason: str | None


# Opaque ids of groups of likely duplicates: a group is named without handing out its digest.
DUPLICATES_NAMESPACE = uuid5(NAMESPACE_URL, "https://minhbach.invalid/child-duplicates")


class Ledger(GroupCommitApplication):
    name = "Ledger"
    snapshotting_intervals = {Programme: 50, Child: 50}  # noqa: RUF012 - library's class var

    def __init__(
        self,
        env: dict[str, str] | None,
        *,
        areas: AreaTree,
        open_receipts: OpenReceipts,
        service_key: bytes,
        position_of: PositionOf,
        dates: DateWindow = DEFAULT_WINDOW,
        totals: Totals = no_totals,
        donor_keys: DonorKeys | None = None,
        child_keys: ChildKeys | None = None,
        child_max_age: int = CHILD_MAX_AGE,
        four_eyes_vnd: int = FOUR_EYES_VND,
    ) -> None:
        super().__init__(env)
        self.four_eyes_vnd = four_eyes_vnd
        self.dates = dates
        self.child_max_age = child_max_age
        self.totals = totals
        self.areas = areas
        self.open_receipts = open_receipts
        self.child_keys: ChildKeys = child_keys if child_keys is not None else MemoryChildKeys()
        self.child_index_key = privacy.derive_key(service_key, "child-index")
        self.service_key = service_key
        self.donor_keys: DonorKeys = donor_keys if donor_keys is not None else MemoryDonorKeys()
        self.name_index_key = privacy.derive_key(service_key, "donor-name-index")
        self.position_of = position_of
        self._known_donors: set[UUID] = set()
        self._partners: dict[str, Partner] | None = None
        self.commands = CommandRunner(self, position_of)

    def find_or_none(self, aggregate_id: UUID, cls: type[A],
                     reads: CommandReads | None = None) -> A | None:
        """The aggregate with this id if it is a `cls`, else None (never raises NotFound); as
        the command first read it, with its `reads`."""
        if reads is not None:
            return reads.find(aggregate_id, cls)
        if cls in self.snapshotting_intervals or cls is Aggregate:
            try:
                aggregate: Aggregate | None = self.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
        else:
            # Never snapshotted: read its events at once, without first asking for a snapshot.
            aggregate = project_aggregate(None, self.events.get(aggregate_id))
        return aggregate if isinstance(aggregate, cls) else None

    def command_reads(self) -> CommandReads:
        """What one command reads of the log, each aggregate once (ledger/command_reads.py)."""
        return CommandReads(self.find_or_none)

    def require_donor(self, donor_id: UUID) -> None:
        # A donor, once registered, is never removed: one look in the log per donor is enough.
        if donor_id not in self._known_donors:
            self.require(donor_id, Donor, "donor")
            self._known_donors.add(donor_id)

    def require(self, aggregate_id: UUID, cls: type[A], what: str,
                reads: CommandReads | None = None) -> A:
        """The aggregate with this id, which must be a `cls`: NotFound ("no {what} with id …") if not."""
        aggregate = self.find_or_none(aggregate_id, cls, reads)
        if aggregate is None:
            raise NotFound(f"no {what} with id {aggregate_id}")
        return aggregate

    # ---- donors and pledges -------------------------------------------------------------

    def register_donor(self, ctx: Context, request_hash: str, *, name: str, kind: str,
                       public_name: str | None = None, anonymous: bool = False,
                       contact: str | None = None) -> Created:
        if kind not in DONOR_KINDS:
            raise InvalidInput(f"unknown donor kind {kind!r}; expected one of {list(DONOR_KINDS)}")
        name = check_text(name, "name", max_length=MAX_NAME, required=True)
        public_name = check_optional(public_name, "public_name", max_length=MAX_NAME)
        contact = check_optional(contact, "contact")
        if not isinstance(anonymous, bool):
            raise InvalidInput("anonymous must be true or false")

        def build() -> tuple[list[Aggregate], Created]:
            donor = self.new_donor(ctx, name=name, kind=kind, public_name=public_name,
                                   anonymous=anonymous, contact=contact)
            return [donor], {"id": str(donor.id)}

        return self.commands.run(ctx, request_hash, build)

    def new_donor(self, ctx: Context, *, name: str, kind: str, public_name: str | None,
                  anonymous: bool, contact: str | None) -> Donor:
        """A new donor (not yet saved), its legal name and contact sealed with its own key.

        Without a public name, a donor who is not anonymous is shown by their own name, as they
        agreed to: that name is then the public one, recorded in clear as such."""
        donor_id = uuid4()
        key = privacy.new_key()
        # The key is stored before the event (as a child's): a failed save leaves a harmless key.
        self.donor_keys.store(
            donor_id, privacy.wrap_key(self.service_key, key, str(donor_id), privacy.DONOR_KEY),
            self.donor_name_index(name))
        sealed = privacy.seal_fields(key, str(donor_id), {"name": name, "contact": contact})
        shown = public_name if public_name or anonymous else name
        return Donor(id=donor_id, kind=kind, public_name=shown, anonymous=anonymous,
                     sealed=sealed, meta=ctx.meta())

    def donor_name_index(self, name: str) -> str:
        """A keyed blind index of a folded legal name: finds a donor by the exact name on a bank
        line without keeping the name readable (and is shredded with the donor's key)."""
        return privacy.keyed_digest(self.name_index_key, fold(name).encode())

    def donors_named(self, folded_name: str) -> list[UUID]:
        """Donors whose folded legal name is exactly this (erased donors are never found). A key
        whose donor's save failed is left behind: only donors the log knows count."""
        found = self.donor_keys.named(privacy.keyed_digest(self.name_index_key, folded_name.encode()))
        return [d for d in found if self.find_or_none(d, Donor) is not None]

    def donor_personal_data(self, donor: Donor) -> dict[str, Any] | None:
        """The donor's legal name and contact, or None once erased (the key deleted)."""
        wrapped = self.donor_keys.load(donor.id)
        if wrapped is None:
            return None
        key = privacy.unwrap_key(self.service_key, wrapped, str(donor.id), privacy.DONOR_KEY)
        return {"name": None, "contact": None, **privacy.open_fields(key, str(donor.id), donor.sealed)}

    def donor_names(self, donor_ids: Iterable[str]) -> dict[str, str]:
        """Legal names for staff (bank suggestions), decrypted in memory, never stored; an erased
        or unknown donor is left out."""
        names: dict[str, str] = {}
        for donor_id in set(donor_ids):
            donor = self.find_or_none(as_id(donor_id), Donor)
            personal = self.donor_personal_data(donor) if donor is not None else None
            if personal and personal["name"]:
                names[donor_id] = personal["name"]
        return names

    def erase_donor(self, ctx: Context, request_hash: str, *, donor_id: UUID,
                    reason: str) -> Created:
        """Crypto-shred the donor's sealed fields: amounts, proofs and public name stay."""
        return self._erase(ctx, request_hash, donor_id, Donor, "donor", self.donor_keys.delete,
                           reason)

    def correct_donor(self, ctx: Context, request_hash: str, *, donor_id: UUID, reason: str,
                      name: str | None = None, public_name: str | None = None,
                      anonymous: bool | None = None, kind: str | None = None,
                      contact: str | None = None) -> Created:
        """Correct a donor's fields (None: as recorded) by a `Donor.Corrected` event, for the
        reason given: the changed public facts in clear, the changed personal ones sealed with
        the donor's key. The event publishes nothing (its leaf is null); the public lists show
        the corrected public name from then on, and the receipts' leaves keep the name they were
        recorded with (docs/decisions.md, "Corrections").

        A donor shown by their own legal name (no other public name) is shown by the corrected
        one, unless anonymous; an anonymous donor's name is never made public by a correction."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        if kind is not None and kind not in DONOR_KINDS:
            raise InvalidInput(f"unknown donor kind {kind!r}; expected one of {list(DONOR_KINDS)}")
        name = check_optional(name, "name", max_length=MAX_NAME)
        public_name = check_optional(public_name, "public_name", max_length=MAX_NAME)
        contact = check_optional(contact, "contact")
        if anonymous is not None and not isinstance(anonymous, bool):
            raise InvalidInput("anonymous must be true or false")

        def build() -> tuple[list[Aggregate], Created]:
            donor = self.require(donor_id, Donor, "donor")
            personal = None if donor.erased else self.donor_personal_data(donor)
            if personal is None:
                raise InvalidInput(f"donor {donor_id} was erased: nothing of them can be corrected")
            hidden = donor.anonymous if anonymous is None else anonymous
            shown_by_name = donor.public_name is None or donor.public_name == personal["name"]
            wanted: dict[str, Any] = {"kind": kind, "anonymous": anonymous, "public_name": public_name}
            if public_name is None and not hidden and shown_by_name:
                wanted["public_name"] = name or personal["name"]
            public = {k: v for k, v in wanted.items() if v is not None and v != getattr(donor, k)}
            changed = {k: v for k, v in (("name", name), ("contact", contact))
                       if v is not None and v != personal[k]}
            sealed = privacy.seal_fields(self._donor_key(donor_id), str(donor_id), changed)
            donor.correct(public=public, sealed=sealed, meta=ctx.meta(reason))
            return [donor], {"id": str(donor_id)}

        done = self.commands.run(ctx, request_hash, build)
        self._reindex_donor(donor_id)
        return done

    def _donor_key(self, donor_id: UUID) -> bytes:
        wrapped = self.donor_keys.load(donor_id)
        if wrapped is None:
            raise InvalidInput(f"donor {donor_id} was erased: nothing of them can be corrected")
        return privacy.unwrap_key(self.service_key, wrapped, str(donor_id), privacy.DONOR_KEY)

    def _reindex_donor(self, donor_id: UUID) -> None:
        """Set the donor's name index to the legal name the log holds now. Done after the save,
        from the log, so that a replayed or retried correction heals an index a crash left
        behind, and never brings back an older name."""
        donor = self.find_or_none(donor_id, Donor)
        personal = self.donor_personal_data(donor) if donor is not None else None
        if personal and personal["name"]:
            self.donor_keys.reindex(donor_id, self.donor_name_index(personal["name"]))

    def make_pledge(self, ctx: Context, request_hash: str, *, donor_id: UUID,
                    amount_vnd: int | None = None, in_kind: Goods | None = None,
                    restriction: dict[str, Any] | None = None, due_on: str | None = None,
                    mobilised_by: str | None = None, note: str | None = None) -> Created:
        value, goods = self._value(amount_vnd, in_kind)
        checked = self.check_restriction(restriction)
        due_on = check_optional_date(due_on, "due_on", self.dates)
        mobilised_by = self.mobilised(mobilised_by)
        note = check_note(note)

        def build() -> tuple[list[Aggregate], Created]:
            self.require_donor(donor_id)
            self.within_limit("pledged", value)
            pledge = Pledge(id=uuid4(), donor_id=donor_id, amount_vnd=value, goods=goods,
                            restriction=checked, due_on=due_on, mobilised_by=mobilised_by,
                            note=note, meta=ctx.meta(note))
            return [pledge], {"id": str(pledge.id)}

        return self.commands.run(ctx, request_hash, build)

    # ---- receipts -------------------------------------------------------------------------

    def record_receipt(self, ctx: Context, request_hash: str, *, donor_id: UUID, fund: str,
                       received_on: str, channel: str, amount_vnd: int | None = None,
                       in_kind: Goods | None = None, restriction: dict[str, Any] | None = None,
                       pledge_id: UUID | None = None, bank_txn_id: str | None = None,
                       mobilised_by: str | None = None, note: str | None = None,
                       after_closing_reason: str | None = None) -> ReceiptRecorded:
        check_fund(fund)
        value, goods = self._value(amount_vnd, in_kind)
        checked = self.check_restriction(restriction)
        received_on = check_date(received_on, "received_on", self.dates)
        check_channel(channel, goods)
        mobilised_by = self.mobilised(mobilised_by)

        def build() -> tuple[list[Aggregate], ReceiptRecorded]:
            reads = self.command_reads()
            self.require(donor_id, Donor, "donor", reads)  # before the pledge's checks
            earmark = checked
            if pledge_id is not None:
                pledge = self.require(pledge_id, Pledge, "pledge")
                if pledge.donor_id != donor_id:
                    raise InvalidInput("the pledge belongs to another donor")
                if pledge.cancelled:
                    raise InvalidInput("the pledge was cancelled")
                # The pledge's earmark binds its receipts (the bank path copies it too).
                earmark = pledge.receipt_restriction(checked)
            aggregates = self.new_receipt(
                ctx, donor_id=donor_id, fund=fund, received_on=received_on, channel=channel,
                amount_vnd=value, goods=goods, restriction=earmark, pledge_id=pledge_id,
                bank_txn_id=bank_txn_id, mobilised_by=mobilised_by, note=note,
                after_closing_reason=after_closing_reason, reads=reads)
            receipt = aggregates[0]
            return aggregates, {"id": str(receipt.id), "received_on": received_on}

        def decorate(response: ReceiptRecorded, position_of: PositionOf) -> ReceiptRecorded:
            received = response.pop("received_on", "")
            return {**response, "reference": receipt_reference(received, position_of(as_id(response["id"])))}

        return self.commands.run(ctx, request_hash, build, decorate)

    def new_receipt(self, ctx: Context, *, donor_id: UUID, fund: str, received_on: str,
                    channel: str, amount_vnd: int, goods: Goods | None, restriction: Restriction,
                    pledge_id: UUID | None, bank_txn_id: str | None, mobilised_by: str | None,
                    note: str | None, new_donor: Donor | None = None,
                    after_closing_reason: str | None = None,
                    reads: CommandReads | None = None) -> list[Aggregate]:
        """A new receipt, and the claim on its bank transaction id (first, the receipt);
        `new_donor` is its donor when the same command registers it, and `reads` what a command
        making many receipts has read for them all.

        Every rule of a receipt is checked here, before the aggregate is made: its constructor
        also applies stored events, and history must load whatever a later release accepts."""
        check_fund(fund)
        check_channel(channel, goods)
        received_on = check_date(received_on, "received_on", self.dates)
        bank_txn_id = check_optional(bank_txn_id, "bank_txn_id", max_length=MAX_CODE)
        # Resolved to a partner's code by the caller (a receipt for a pledge takes the pledge's,
        # as recorded, even a free text recorded before partners were reference data).
        mobilised_by = check_optional(mobilised_by, "mobilised_by", max_length=MAX_NAME)
        note = check_note(note)
        reads = reads or self.command_reads()
        after_closing = self._calendar(reads).check_dated(
            received_on, reason=check_note(after_closing_reason, "after_closing_reason"),
            admin=ctx.role == "admin")
        self.within_limit("received", amount_vnd, reads)
        receipt = Receipt(id=uuid4(), donor_id=donor_id, fund=fund, received_on=received_on,
                          channel=channel, amount_vnd=amount_vnd, goods=goods,
                          restriction=restriction, pledge_id=pledge_id, bank_txn_id=bank_txn_id,
                          mobilised_by=mobilised_by, note=note, meta=ctx.meta(note),
                          donor_name=self.public_donor_name(donor_id, new_donor, reads),
                          after_closing=after_closing)
        aggregates: list[Aggregate] = [receipt]
        if bank_txn_id:
            claimed = claim_id("bank-txn", bank_txn_id)
            claim = self.find_or_none(claimed, Claim)
            if claim is None:
                claim = Claim(id=claimed, kind="bank-txn", value=bank_txn_id, owner_id=receipt.id,
                              meta=ctx.meta())
            elif claim.owner_id is None:
                claim.reclaim(owner_id=receipt.id, meta=ctx.meta())
            else:
                raise AlreadyRecorded(f"bank transaction {bank_txn_id!r} is already recorded")
            aggregates.append(claim)
        return aggregates

    def public_donor_name(self, donor_id: UUID, donor: Donor | None, reads: CommandReads) -> str:
        """The donor as a receipt's public leaf names them when it is recorded: their public
        name, or "Ẩn danh" when anonymous (or when they have none). Read afresh by each command,
        since a correction may change it; `donor` is one registered in the same command, not
        saved yet."""
        donor = donor or self.require(donor_id, Donor, "donor", reads)
        if donor.anonymous or not donor.public_name:
            return ANONYMOUS
        return str(donor.public_name)

    # ---- partner organisations ------------------------------------------------------------

    def partners(self, *, fresh: bool = False) -> dict[str, Partner]:
        """The plan's partner organisations and those an admin added, by code. Kept in memory:
        a name not found there is looked up again in the log (`mobilised`), so a partner another
        process added is found at once."""
        if self._partners is None or fresh:
            added = self.find_or_none(partners_id(), Partners)
            extra = added.added.values() if added else ()
            self._partners = {p["code"]: p for p in (*PLAN_PARTNERS, *extra)}
        return self._partners

    def partner_of(self, value: str) -> str | None:
        """The code of the partner a stored `mobilised_by` names (its code, or a free text of
        an older event naming it), or None when it names none."""
        try:
            return self.mobilised(value)
        except (PartnerUnknown, InvalidInput):
            return None

    def mobilised(self, value: str | None) -> str | None:
        """The code of the partner organisation `mobilised_by` names, or None when none is."""
        value = check_optional(value, "mobilised_by", max_length=MAX_NAME)
        if value is None:
            return None
        try:
            return partner_code(self.partners().values(), value)
        except PartnerUnknown:
            return partner_code(self.partners(fresh=True).values(), value)

    def add_partner(self, ctx: Context, request_hash: str, *, code: str, name: str,
                    aliases: list[str] | None = None) -> Created:
        name = check_text(name, "name", max_length=MAX_NAME, required=True)
        aliases = [check_text(a, "aliases", max_length=MAX_NAME, required=True) for a in aliases or []]

        def build() -> tuple[list[Aggregate], Created]:
            added = self.find_or_none(partners_id(), Partners) or Partners(id=partners_id(),
                                                                           meta=ctx.meta())
            added.add(code=code, name=name, aliases=aliases, known=self.partners(fresh=True),
                      meta=ctx.meta())
            return [added], {"id": str(added.id)}

        done = self.commands.run(ctx, request_hash, build)
        self._partners = None
        return done

    # ---- seasons --------------------------------------------------------------------------

    def _calendar(self, reads: CommandReads | None = None) -> Seasons:
        """The season calendar (empty until the first season is opened: nothing is saved then)."""
        return self.find_or_none(seasons_id(), Seasons, reads) or Seasons(id=seasons_id(), meta={})

    def seasons(self) -> list[Season]:
        """Every season opened, in date order."""
        return sorted(self._calendar().seasons.values(), key=lambda x: x["starts_on"])

    def open_season(self, ctx: Context, request_hash: str, *, code: str, name: str,
                    starts_on: str, ends_on: str) -> Created:
        check_season(code, self.dates)
        name = check_text(name, "name", max_length=MAX_NAME, required=True)
        starts_on = check_date(starts_on, "starts_on", self.dates)
        ends_on = check_date(ends_on, "ends_on", self.dates)

        def build() -> tuple[list[Aggregate], Created]:
            calendar = self.find_or_none(seasons_id(), Seasons) or Seasons(id=seasons_id(),
                                                                           meta=ctx.meta())
            calendar.open(code=code, name=name, starts_on=starts_on, ends_on=ends_on,
                          meta=ctx.meta())
            return [calendar], {"id": str(calendar.id)}

        return self.commands.run(ctx, request_hash, build)

    def close_season(self, ctx: Context, request_hash: str, *, code: str, reason: str) -> Created:
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)

        def build() -> tuple[list[Aggregate], Created]:
            calendar = self._calendar()
            calendar.close(code=code, meta=ctx.meta(reason))
            return [calendar], {"id": str(calendar.id)}

        return self.commands.run(ctx, request_hash, build)

    # ---- allocations ----------------------------------------------------------------------

    def allocate(self, ctx: Context, request_hash: str, *, fund: str, season: str, commune: str,
                 category: str, decision_ref: str, amount_vnd: int | None = None,
                 in_kind: dict[str, Any] | None = None, note: str | None = None,
                 override_reason: str | None = None,
                 after_closing_reason: str | None = None) -> Allocated | Proposed:
        """Allocate a fund's money or goods to a programme, drawn FIFO from its receipts. Above
        the four-eyes amount (goods by the value FIFO planning gives them) it is recorded as a
        proposal instead, which takes effect when a second person approves it
        (`approve_proposal`); its rules are checked now and again then."""
        args = self._allocation_arguments(ctx, fund=fund, season=season, commune=commune,
                                          category=category, decision_ref=decision_ref,
                                          amount_vnd=amount_vnd, in_kind=in_kind, note=note,
                                          override_reason=override_reason,
                                          after_closing_reason=after_closing_reason)
        return self.commands.run(ctx, request_hash, self._allocation(ctx, args),
                                 serialise_on=self._allocation_keys(args))

    def _allocation_arguments(self, ctx: Context, *, fund: str, season: str, commune: str,
                              category: str, decision_ref: str, amount_vnd: int | None,
                              in_kind: dict[str, Any] | None, note: str | None,
                              override_reason: str | None,
                              after_closing_reason: str | None = None) -> dict[str, Any]:
        """An allocation's arguments, checked (`ctx` is whose rights count: an admin may
        override the plan's communes); what a proposal stores, and checks again on approval."""
        check_fund(fund)
        check_category(category)
        _, override_reason, after_closing = self._supported_place(ctx, season, commune,
                                                                 override_reason, after_closing_reason)
        if in_kind is not None and not isinstance(in_kind, dict):
            raise InvalidInput("in_kind must be an object")
        item = check_text(in_kind.get("item"), "in_kind.item", max_length=MAX_NAME,
                          required=True) if in_kind else None
        # The unit is part of what the goods are: 'Áo ấm' by the piece never pays for a box.
        unit = check_text(in_kind.get("unit"), "in_kind.unit", max_length=MAX_NAME,
                          required=True) if in_kind else None
        quantity = check_quantity(in_kind.get("quantity")) if in_kind else 0  # type: ignore[arg-type]
        if in_kind is None:
            if amount_vnd is None:
                raise InvalidInput("give amount_vnd or in_kind")
            check_amount(amount_vnd)
        elif amount_vnd is not None:
            raise InvalidInput("give amount_vnd or in_kind, not both")
        if not isinstance(decision_ref, str) or not decision_ref.strip():
            raise InvalidInput("an allocation needs the decision that ordered it (decision_ref)")
        decision_ref = check_text(decision_ref, "decision_ref", max_length=MAX_NAME)
        return {"fund": fund, "season": season, "commune": commune, "category": category,
                "decision_ref": decision_ref, "amount_vnd": amount_vnd,
                "in_kind": {"item": item, "unit": unit, "quantity": quantity} if item else None,
                "note": check_note(note), "override_reason": override_reason,
                # Kept only when needed: what a proposal stores is again an argument of this.
                "after_closing_reason": after_closing["reason"] if after_closing else None}

    @staticmethod
    def _allocation_keys(args: dict[str, Any]) -> tuple[str, ...]:
        return (f"fund:{args['fund']}",
                f"programme:{programme_id(args['season'], args['commune'], args['category'])}")

    def _allocation(self, ctx: Context, args: dict[str, Any], approval: Approval | None = None,
                    ) -> Callable[[], tuple[list[Aggregate], Allocated | Proposed]]:
        """The build of an allocation of checked `args`: proposed when above the four-eyes
        amount, unless it carries out an `approval`, whose proposal it then marks approved."""
        fund, season, commune, category = args["fund"], args["season"], args["commune"], args["category"]
        district = self.areas.district_of(commune)
        item = args["in_kind"]["item"] if args["in_kind"] else None
        unit = args["in_kind"]["unit"] if args["in_kind"] else None
        goods = goods_key(item, unit) if item else None
        quantity = int(args["in_kind"]["quantity"]) if args["in_kind"] else 0
        amount_vnd: int | None = args["amount_vnd"]
        decision_ref, note, override_reason = args["decision_ref"], args["note"], args["override_reason"]
        late = args.get("after_closing_reason")  # proposals made before closing existed have none

        def build() -> tuple[list[Aggregate], Allocated | Proposed]:
            proposal = self._deciding(ctx, approval)
            programme = self._programme(season, district, commune, category, ctx.meta())
            receipts = self._candidates(fund, goods, district, commune, category,
                                        quantity if item else amount_vnd or 0)
            draws = plan_draws(receipts, fund=fund, district=district, commune=commune,
                               category=category, amount_vnd=amount_vnd or 0, goods=goods,
                               quantity=quantity, label=describe(item, unit) if item else None)
            allocation_id = uuid4()
            by_id = {r.id: r for r in receipts}
            for d in draws:
                by_id[d["receipt_id"]].draw(allocation_id=allocation_id, amount_vnd=d["amount_vnd"],
                                            quantity=d["quantity"], meta=ctx.meta())
            total = sum(d["amount_vnd"] for d in draws)
            self.within_limit("allocated", total)
            if proposal is None and needs_second_person(total, self.four_eyes_vnd):
                # Every rule held: what was drawn above is dropped, the proposal alone is saved.
                return self._propose(ctx, "allocation", args, total, note)
            allocation = Allocation(
                id=allocation_id, fund=fund, programme_id=programme.id, season=season,
                district=district, commune=commune, category=category, amount_vnd=total,
                item=item, quantity=quantity, decision_ref=decision_ref, drawn_from=draws,
                note=note, meta=ctx.meta(note), override_reason=override_reason, unit=unit,
                after_closing=AfterClosing(season=season, reason=late) if late else None,
            )
            # Each tranche keeps its receipt's date: no distribution may be dated before it; and
            # its fund, so that the programme's goods can be told by fund without the receipt.
            programme.receive(allocation_id=allocation_id, meta=ctx.meta(note), pieces=[
                {**d, "received_on": by_id[d["receipt_id"]].received_on, "fund": fund}
                for d in draws])
            touched: list[Aggregate] = [by_id[d["receipt_id"]] for d in draws]
            if proposal is not None and approval is not None:
                touched.append(self._approve(proposal, ctx, allocation_id, approval.reason))
            answer: Allocated = {"id": str(allocation_id), "amount_vnd": total,
                                 "drawn_from": [answer_draw(d) for d in draws]}
            return [allocation, programme, *touched], answer

        return build

    def _supported_place(self, ctx: Context, season: str, commune: str,
                         override_reason: str | None, after_closing_reason: str | None,
                         ) -> tuple[str, str | None, AfterClosing | None]:
        """The district of a commune the plan supports in an opened season, the admin's
        override reason when it does not, and the admin's reason to record it when the season
        is closed (the same rules for allocations and needs)."""
        admin = ctx.role == "admin"
        after_closing = self._calendar().check_open(
            check_season(season, self.dates),
            reason=check_note(after_closing_reason, "after_closing_reason"), admin=admin)
        district = self.areas.district_of(commune)
        return district, self.areas.check_eligible(
            commune, override_reason=check_note(override_reason, "override_reason"),
            admin=admin), after_closing

    def _candidates(self, fund: str, goods: GoodsKey | None, district: str, commune: str,
                    category: str, need: int) -> list[Receipt]:
        """Read the eligible receipts from the log, oldest first, until they cover the need."""
        loaded: list[Receipt] = []
        covered = 0
        for receipt_id in self.open_receipts(fund, goods.text() if goods else None, district,
                                             commune, category):
            receipt = self.find_or_none(receipt_id, Receipt)
            if receipt is None or receipt.reversed or receipt.goods_key != goods:
                continue
            loaded.append(receipt)
            covered += receipt.remaining_quantity if goods else receipt.remaining_vnd
            if covered >= need:
                break
        return loaded

    def _programme(self, season: str, district: str, commune: str, category: str,
                   meta: Meta) -> Programme:
        pid = programme_id(season, commune, category)
        return self.find_or_none(pid, Programme) or Programme(
            id=pid, season=season, district=district, commune=commune, category=category, meta=meta
        )

    # ---- distributions --------------------------------------------------------------------

    def distribute(self, ctx: Context, request_hash: str, *, season: str, commune: str,
                   category: str, distributed_on: str, lines: list[dict[str, Any]],
                   beneficiaries_count: int | None = None,
                   duplicate_reason: str | None = None,
                   after_closing_reason: str | None = None) -> Distributed:
        check_category(category)
        check_season(season, self.dates)
        district = self.areas.district_of(commune)
        distributed_on = check_date(distributed_on, "distributed_on", self.dates)
        after_closing = self._calendar().check_in(
            season, distributed_on, "distributed_on",
            reason=check_note(after_closing_reason, "after_closing_reason"),
            admin=ctx.role == "admin")
        duplicate_reason = check_note(duplicate_reason, "duplicate_reason")
        if not isinstance(lines, list) or not lines:
            raise InvalidInput("a distribution needs at least one line")
        if len(lines) > MAX_LINES:
            raise InvalidInput(f"at most {MAX_LINES} lines in one distribution")
        wanted: list[tuple[int, GoodsKey | None, int]] = []
        shown: list[tuple[str | None, str | None]] = []
        descriptions = []
        for n, line in enumerate(lines):
            if not isinstance(line, dict):
                raise InvalidInput(f"lines[{n}] must be an object")
            descriptions.append(check_text(line.get("description") or "", f"lines[{n}].description"))
            item = (check_text(line["item"], f"lines[{n}].item", max_length=MAX_NAME)
                    if line.get("item") else None) or None
            # Goods are taken from stock by name and unit: the unit says what one of them is.
            unit = check_text(line.get("unit"), f"lines[{n}].unit", max_length=MAX_NAME,
                              required=True) if item else None
            quantity = check_quantity(1 if line.get("quantity") is None else line["quantity"])
            value = 0 if item else check_amount(line.get("value_vnd") or 0, "value_vnd")
            wanted.append((value, goods_key(item, unit) if item else None, quantity))
            shown.append((item, unit))
        child_ids = [as_uuid(line["child_id"], f"lines[{n}].child_id")
                     for n, line in enumerate(lines) if line.get("child_id")]
        if len(set(child_ids)) != len(child_ids):
            raise InvalidInput("a child appears on more than one line of this distribution")
        counted = check_count(0 if beneficiaries_count is None else beneficiaries_count,
                              "beneficiaries_count")

        def build() -> tuple[list[Aggregate], Distributed]:
            pid = programme_id(season, commune, category)
            programme = self.find_or_none(pid, Programme)
            if programme is None:
                raise NotFound(f"nothing was allocated to {season}/{commune}/{category} yet")
            children = [self._child_in(cid, district, commune) for cid in child_ids]
            distribution_id = uuid4()
            repeats = {child.id: child.check_support(season=season, category=category,
                                                     duplicate_reason=duplicate_reason)
                       for child in children}
            overrides = sum(repeats.values())
            # Goods allocated before tranches kept their unit have their receipt's.
            units = {rid: self._unit_of(rid) for rid in programme.legacy_receipts()} if any(
                goods for _, goods, _ in wanted) else {}
            planned = programme.plan(wanted, units)
            programme.check_dated(distributed_on, [p for ps in planned for p in ps])
            recorded_lines: list[dict[str, Any]] = []
            for line, description, (_, _, quantity), (item, unit), pieces in zip(
                    lines, descriptions, wanted, shown, planned, strict=True):
                recorded_lines.append({
                    "child_id": as_uuid(line["child_id"], "child_id") if line.get("child_id") else None,
                    "description": description,
                    "item": item,
                    **({"unit": unit} if item else {}),
                    "quantity": quantity,
                    "value_vnd": sum(p["amount_vnd"] for p in pieces),
                    "drawn_from": pieces,
                })
            total = sum(int(line["value_vnd"]) for line in recorded_lines)
            meta = ctx.meta(duplicate_reason)
            distribution = Distribution(
                id=distribution_id, programme_id=pid, season=season, district=district,
                commune=commune, category=category, distributed_on=distributed_on,
                lines=recorded_lines, beneficiaries_count=counted,
                duplicate_reason=duplicate_reason, overrides=overrides, total_vnd=total, meta=meta,
                after_closing=after_closing,
            )
            programme.distribute(distribution_id=distribution_id,
                                 pieces=[p for ps in planned for p in ps], meta=meta)
            values = {line["child_id"]: int(line["value_vnd"]) for line in recorded_lines}
            for child in children:
                child.receive_support(distribution_id=distribution_id, season=season,
                                      category=category, value_vnd=values[child.id],
                                      override_reason=duplicate_reason if repeats[child.id] else None,
                                      meta=meta)
            answer: Distributed = {"id": str(distribution_id), "total_vnd": total,
                                   "overrides": overrides}
            return [distribution, programme, *children], answer

        return self.commands.run(ctx, request_hash, build,
                        serialise_on=(f"programme:{programme_id(season, commune, category)}",))

    def _unit_of(self, receipt_id: UUID) -> str | None:
        goods = self.require(receipt_id, Receipt, "receipt").goods
        return goods.get("unit") if goods else None

    def _child_in(self, child_id: UUID, district: str, commune: str) -> Child:
        """A named child of a distribution, who must be registered in its commune: support is
        given where the child lives (DESIGN §3, no overlap between communes). A child of another
        district is answered as unknown there, so that an officer learns nothing of it."""
        child = self.find_or_none(child_id, Child)
        if child is None or child.district != district:
            raise NotFound(f"no child with id {child_id} is registered in district {district}")
        if child.erased:
            raise InvalidInput(f"child {child.code} was erased: no support can name them again")
        if child.merged_into is not None:
            kept = self.find_or_none(child.merged_into, Child)
            raise InvalidInput(f"child {child.code} was merged into "
                               f"{kept.code if kept else child.merged_into}: name that record")
        if child.commune != commune:
            raise ChildElsewhere(f"child {child.code} is registered in commune {child.commune}, not"
                                 f" {commune}: record the distribution in the child's commune")
        return child

    # ---- reversals ------------------------------------------------------------------------

    def reverse(self, ctx: Context, request_hash: str, *, target_id: UUID,
                reason: str) -> Reversed | Proposed:
        """Reverse a receipt, a pledge, an allocation or a distribution. A receipt, allocation or
        distribution worth more than the four-eyes amount is proposed instead (a pledge's
        cancellation moves no money and never waits)."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        return self.commands.run(ctx, request_hash, self._reversal(ctx, target_id, reason))

    def _reversal(self, ctx: Context, target_id: UUID, reason: str, approval: Approval | None = None,
                  ) -> Callable[[], tuple[list[Aggregate], Reversed | Proposed]]:
        def build() -> tuple[list[Aggregate], Reversed | Proposed]:
            proposal = self._deciding(ctx, approval)
            target = self.find_or_none(target_id, Aggregate)
            reversal_id = uuid4()
            meta = ctx.meta(reason)
            touched: list[Aggregate]
            value = 0
            if isinstance(target, Receipt):
                target.reverse(reversal_id=reversal_id, reason=reason, meta=meta)
                touched = [target]
                value = target.amount_vnd
                if target.bank_txn_id:
                    # The bank transaction happened; its corrected receipt may record it again.
                    claim = self.require(claim_id("bank-txn", target.bank_txn_id), Claim, "claim")
                    claim.release(meta=meta)
                    touched.append(claim)
            elif isinstance(target, Pledge):
                target.cancel(reversal_id=reversal_id, reason=reason, meta=meta)
                touched = [target]
            elif isinstance(target, Allocation):
                touched = self._reverse_allocation(target, reversal_id, reason, meta)
                value = target.amount_vnd
            elif isinstance(target, Distribution):
                touched = self._reverse_distribution(target, reversal_id, reason, meta)
                value = target.total_vnd
            else:
                raise NotFound(f"nothing reversible has id {target_id}")
            if proposal is None and needs_second_person(value, self.four_eyes_vnd):
                # The reversal may be made now (the calls above checked it); only the proposal is saved.
                return self._propose(ctx, "reversal", {
                    "target_id": target_id, "target": type(target).__name__.lower(),
                    "reason": reason}, value, reason)
            if proposal is not None and approval is not None:
                touched.append(self._approve(proposal, ctx, reversal_id, approval.reason))
            return touched, {"id": str(reversal_id), "target_id": str(target_id)}

        return build

    def _reverse_allocation(self, allocation: Allocation, reversal_id: UUID, reason: str,
                            meta: Meta) -> list[Aggregate]:
        allocation.reverse(reversal_id=reversal_id, reason=reason, meta=meta)
        programme = self.require(allocation.programme_id, Programme, "programme")
        programme.return_allocation(allocation_id=allocation.id, meta=meta)
        receipts = []
        for draw in allocation.drawn_from:
            receipt = self.require(draw["receipt_id"], Receipt, "receipt")
            receipt.give_back(allocation_id=allocation.id, amount_vnd=draw["amount_vnd"],
                              quantity=draw["quantity"], meta=meta)
            receipts.append(receipt)
        return [allocation, programme, *receipts]

    def _reverse_distribution(self, distribution: Distribution, reversal_id: UUID, reason: str,
                              meta: Meta) -> list[Aggregate]:
        distribution.reverse(reversal_id=reversal_id, reason=reason, meta=meta)
        programme = self.require(distribution.programme_id, Programme, "programme")
        programme.return_distribution(distribution_id=distribution.id, pieces=distribution.pieces,
                                      meta=meta)
        # The distribution names the records it supported; a record merged since passed that
        # support on to the one it was merged into (and so on up the chain): withdrawn there too.
        # Each record is loaded once: the one distribution may name a duplicate and its kept one.
        children: dict[UUID, Child] = {}
        for named in distribution.child_ids:
            child_id: UUID | None = named
            while child_id is not None:
                child = children.get(child_id) or self.require(child_id, Child, "child")
                children[child_id] = child
                child.withdraw_support(distribution_id=distribution.id, season=programme.season,
                                       category=programme.category, meta=meta)
                child_id = child.merged_into
        return [distribution, programme, *children.values()]

    # ---- four eyes (issue 12, item 8) -----------------------------------------------------

    def _propose(self, ctx: Context, kind: str, arguments: dict[str, Any], value: int,
                 note: str | None) -> tuple[list[Aggregate], Proposed]:
        proposal = Proposal.propose(id=uuid4(), kind=kind, arguments=arguments, amount_vnd=value,
                                    proposer=ctx.actor, proposer_role=ctx.role, meta=ctx.meta(note))
        return [proposal], {"id": str(proposal.id), "proposal_id": str(proposal.id),
                            "status": "proposed", "kind": kind, "amount_vnd": value}

    def _deciding(self, ctx: Context, approval: Approval | None) -> Proposal | None:
        """The proposal an approval carries out, refused at once when it may not be approved
        (decided already, by its proposer), before any money rule is looked at."""
        if approval is None:
            return None
        proposal = self.require(approval.proposal_id, Proposal, "proposal")
        proposal.check_decision(by=ctx.actor, role=ctx.role, approving=True)
        return proposal

    @staticmethod
    def _approve(proposal: Proposal, ctx: Context, result_id: UUID, reason: str | None) -> Proposal:
        proposal.approve(by=ctx.actor, role=ctx.role, result_id=result_id, reason=reason,
                         meta=ctx.meta(reason))
        return proposal

    def approve_proposal(self, ctx: Context, request_hash: str, *, proposal_id: UUID,
                         reason: str | None = None) -> Decided:
        """Carry out a pending proposal: the allocation or reversal it holds, every rule checked
        again now (funds may have gone meanwhile: then nothing is recorded and it stays pending),
        saved in one transaction with the approval. Never by its proposer; once."""
        reason = check_note(reason, "reason")
        proposal = self.require(proposal_id, Proposal, "proposal")
        kind, args = proposal.kind, proposal.arguments
        # The events it makes name the proposer beside the approver (their actor).
        acting = replace(ctx, proposal=(proposal_id, proposal.proposer))
        approval = Approval(proposal_id, reason)

        def build() -> tuple[list[Aggregate], Decided]:
            inner: Callable[[], tuple[list[Aggregate], Any]]
            if kind == "allocation":
                # The proposer's rights count for its arguments (an admin's commune override).
                checked = self._allocation_arguments(
                    Context(actor=proposal.proposer, role=proposal.proposer_role), **args)
                inner = self._allocation(acting, checked, approval)
            else:
                # Proposals stored before ids were one type hold the target as text.
                inner = self._reversal(acting, as_id(args["target_id"]), args["reason"], approval)
            try:
                aggregates, answer = inner()
            except DomainError:
                # The proposal was read before the money: if another approver won in between
                # (another process), the funds they took are what refused us; say what happened.
                self.require(proposal_id, Proposal, "proposal").check_decision(
                    by=ctx.actor, role=ctx.role, approving=True)
                raise
            return aggregates, {**answer, "proposal_id": str(proposal_id), "status": "approved",
                                "kind": kind}

        keys = self._allocation_keys(args) if kind == "allocation" else ()
        return self.commands.run(acting, request_hash, build,
                                 serialise_on=(*keys, f"proposal:{proposal_id}"))

    def reject_proposal(self, ctx: Context, request_hash: str, *, proposal_id: UUID,
                        reason: str) -> Decided:
        """Refuse a pending proposal for the reason given (its proposer may withdraw it so)."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)

        def build() -> tuple[list[Aggregate], Decided]:
            proposal = self.require(proposal_id, Proposal, "proposal")
            proposal.reject(by=ctx.actor, role=ctx.role, reason=reason, meta=ctx.meta(reason))
            return [proposal], {"id": str(proposal_id), "proposal_id": str(proposal_id),
                                "status": "rejected", "kind": proposal.kind}

        return self.commands.run(ctx, request_hash, build,
                                 serialise_on=(f"proposal:{proposal_id}",))

    # ---- children and needs ---------------------------------------------------------------

    def register_child(self, ctx: Context, request_hash: str, *, commune: str,
                       personal: dict[str, Any]) -> ChildRegistered:
        """Register a child. A live record of the same folded name, birth year and commune is
        answered as a likely duplicate: a warning (two children may share all three), never a
        refusal; staff merge the records if they are one child (`merge_children`)."""
        district = self.areas.district_of(commune)
        fields = check_personal(personal)
        check_child_age(fields.get("birth_year"), today=self.dates.today(), max_age=self.child_max_age)
        name_index = self.child_name_index(fields["full_name"], commune)
        match_index = self.child_match_index(fields["full_name"], fields.get("birth_year"), commune)

        def build() -> tuple[list[Aggregate], ChildRegistered]:
            child_id = uuid4()
            likely = [str(c.id) for c in self._live_children(self.child_keys.matching(match_index))]
            key = privacy.new_key()
            # The key is stored before the event: if the save fails, an unused key is left
            # behind, which is harmless; the other way round could leave sealed data unreadable.
            # The indexes go in the same row, so that erasing the child shreds them with the key.
            self.child_keys.store(child_id, privacy.wrap_key(self.service_key, key, str(child_id)),
                                  name_index, match_index)
            sealed = privacy.seal_fields(key, str(child_id), fields)
            child = Child(id=child_id, code=child_code(child_id), district=district,
                          commune=commune, sealed=sealed, meta=ctx.meta())
            return [child], {"id": str(child_id), "code": child.code, "possible_duplicates": likely}

        return self.commands.run(ctx, request_hash, build)

    def child_name_index(self, full_name: str, commune: str) -> str:
        """A keyed blind index of a child's folded full name in a commune: finds the child by
        name without decrypting every record, and is shredded with the child's key."""
        return privacy.keyed_digest(self.child_index_key, f"name|{commune}|{fold(full_name)}".encode())

    def child_match_index(self, full_name: str, birth_year: int | None, commune: str) -> str:
        """The same with the birth year: two live records sharing it are likely one child."""
        return privacy.keyed_digest(
            self.child_index_key, f"match|{commune}|{birth_year or ''}|{fold(full_name)}".encode())

    def _live_children(self, child_ids: Iterable[UUID]) -> list[Child]:
        """Those of these children the log knows that are neither erased nor merged (a key whose
        child's save failed is left behind: only children the log knows count)."""
        found = (self.find_or_none(c, Child) for c in child_ids)
        return [c for c in found if c is not None and not c.erased and c.merged_into is None]

    def children_named(self, full_name: str, commune: str) -> list[UUID]:
        """Children registered in the commune under exactly this name, once folded (any case,
        any diacritics); an erased child is never found (its index went with its key)."""
        found = self.child_keys.named(self.child_name_index(full_name, commune))
        return [c for c in found if self.find_or_none(c, Child) is not None]

    def child_duplicates(self, district: str | None = None,
                         commune: str | None = None) -> list[dict[str, Any]]:
        """Groups of two or more live records sharing a folded name, birth year and commune (in
        a district or a commune if given), each named by an opaque id, not its digest."""
        groups = []
        for match_index, child_ids in self.child_keys.match_groups().items():
            children = [c for c in self._live_children(child_ids)
                        if (district is None or c.district == district)
                        and (commune is None or c.commune == commune)]
            if len(children) > 1:
                groups.append({"match": str(uuid5(DUPLICATES_NAMESPACE, match_index)),
                               "children": [{"id": str(c.id), "code": c.code, "commune": c.commune}
                                            for c in children]})
        return sorted(groups, key=lambda g: (g["children"][0]["commune"], g["children"][0]["code"]))

    def merge_children(self, ctx: Context, request_hash: str, *, child_id: UUID, into: UUID,
                       reason: str, district: str | None = None) -> Created:
        """Record that `child_id` is a second registration of the child `into`: the duplicate
        can no longer be supported, and its standing support counts as the kept child's, so the
        duplicate-support rule sees both records' support. `district` limits both children to
        one district (a district officer's); either child outside it is answered as unknown."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        if child_id == into:
            raise InvalidInput("a child can't be merged into itself")

        def build() -> tuple[list[Aggregate], Created]:
            duplicate = self._child_of(child_id, district)
            kept = self._child_of(into, district if district is not None else duplicate.district)
            duplicate.check_mergeable()
            kept.check_mergeable()
            meta = ctx.meta(reason)
            duplicate.merge_into(into=kept.id, meta=meta)
            kept.absorb(duplicate_id=duplicate.id,
                        supported={k: list(v) for k, v in duplicate.supported.items()}, meta=meta)
            return [duplicate, kept], {"id": str(child_id)}

        return self.commands.run(ctx, request_hash, build)

    def _child_of(self, child_id: UUID, district: str | None) -> Child:
        child = self.find_or_none(child_id, Child)
        if child is None or (district is not None and child.district != district):
            raise NotFound(f"no child with id {child_id}" + (f" in district {district}" if district else ""))
        return child

    def child_personal_data(self, child: Child) -> dict[str, Any] | None:
        """The child's personal fields, or None once the key is erased."""
        wrapped = self.child_keys.load(child.id)
        if wrapped is None:
            return None
        key = privacy.unwrap_key(self.service_key, wrapped, str(child.id))
        return privacy.open_fields(key, str(child.id), child.sealed)

    def erase_child(self, ctx: Context, request_hash: str, *, child_id: UUID,
                    reason: str) -> Created:
        """Crypto-shred the child's sealed fields: its code, place, support and proofs stay."""
        return self._erase(ctx, request_hash, child_id, Child, "child", self.child_keys.delete,
                           reason)

    def _erase(self, ctx: Context, request_hash: str, person_id: UUID, cls: type[Donor | Child],
               what: str, delete_key: Callable[[UUID], bool], reason: str) -> Created:
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)

        def build() -> tuple[list[Aggregate], Created]:
            person = self.require(person_id, cls, what)
            person.erase(meta=ctx.meta(reason))
            # The key is deleted before the event is saved: should the save fail, the data is
            # unreadable already and the erasure can be asked again; the other order could leave
            # an "erased" person readable.
            delete_key(person_id)
            return [person], {"id": str(person_id)}

        return self.commands.run(ctx, request_hash, build)

    def correct_child(self, ctx: Context, request_hash: str, *, child_id: UUID, reason: str,
                      personal: dict[str, Any], district: str | None = None) -> Created:
        """Correct a child's personal fields (those given; the others stay as recorded) by a
        `Child.Corrected` event, for the reason given: only the changed fields, sealed with the
        child's key, checked as a registration's are. `district` limits it to one district (a
        district officer's): another district's child is answered as unknown. The blind indexes
        follow the corrected name and birth year."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        given = {k: v for k, v in personal.items() if v is not None}
        if set(given) - set(privacy.PERSONAL_FIELDS):
            raise InvalidInput(f"only {list(privacy.PERSONAL_FIELDS)} can be corrected")

        def build() -> tuple[list[Aggregate], Created]:
            child = self._child_of(child_id, district)
            current = None if child.erased else self.child_personal_data(child)
            if current is None:
                raise InvalidInput(f"child {child.code} was erased: nothing of them can be corrected")
            fields = check_personal({**current, **given})
            if "birth_year" in given:
                # Under the age limit when registered: the plan's rule, applied to the record as
                # corrected (a correction can't make a registration that would have been refused).
                check_child_age(fields.get("birth_year"), today=child.created_on.date(),
                                max_age=self.child_max_age)
            changed = {k: v for k, v in fields.items() if k in given and current.get(k) != v}
            wrapped = self.child_keys.load(child_id)
            assert wrapped is not None  # read just above
            key = privacy.unwrap_key(self.service_key, wrapped, str(child_id))
            child.correct(sealed=privacy.seal_fields(key, str(child_id), changed),
                          meta=ctx.meta(reason))
            return [child], {"id": str(child_id)}

        done = self.commands.run(ctx, request_hash, build)
        self._reindex_child(child_id)
        return done

    def transfer_child(self, ctx: Context, request_hash: str, *, child_id: UUID, commune: str,
                       reason: str, district: str | None = None) -> Created:
        """Move a child to the commune they now live in, by a `Child.Transferred` event for the
        reason given. `district` limits it to one district (a district officer's): the child
        must be theirs (the route checks that the commune is theirs too: a move to another
        district is finance's, so that no officer hands a child to another district alone)."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        to_district = self.areas.district_of(commune)

        def build() -> tuple[list[Aggregate], Created]:
            child = self._child_of(child_id, district)
            child.transfer(district=to_district, commune=commune, meta=ctx.meta(reason))
            return [child], {"id": str(child_id)}

        done = self.commands.run(ctx, request_hash, build)
        self._reindex_child(child_id)
        return done

    def _reindex_child(self, child_id: UUID) -> None:
        """Set the child's blind indexes to the name and birth year the log holds now (after the
        save, from the log, as a donor's name index: see `_reindex_donor`)."""
        child = self.find_or_none(child_id, Child)
        personal = self.child_personal_data(child) if child is not None else None
        if child is not None and personal and personal.get("full_name"):
            self.child_keys.reindex(
                child_id, self.child_name_index(personal["full_name"], child.commune),
                self.child_match_index(personal["full_name"], personal.get("birth_year"), child.commune))

    def record_need(self, ctx: Context, request_hash: str, *, season: str, commune: str,
                    category: str, children_count: int, estimated_vnd: int,
                    note: str | None = None, override_reason: str | None = None,
                    after_closing_reason: str | None = None) -> Created:
        check_category(category)
        district, override_reason, after_closing = self._supported_place(
            ctx, season, commune, override_reason, after_closing_reason)
        note = check_note(note)
        check_count(children_count, "children_count")
        if estimated_vnd != 0:
            check_amount(estimated_vnd, "estimated_vnd")

        def build() -> tuple[list[Aggregate], Created]:
            self.within_limit("estimated", estimated_vnd)
            nid = need_id(season, commune, category)
            need = self.find_or_none(nid, Need) or Need(id=nid, season=season, district=district,
                                               commune=commune, category=category,
                                               meta=ctx.meta(note))
            need.survey(children_count=children_count, estimated_vnd=estimated_vnd, note=note,
                        meta=ctx.meta(note), override_reason=override_reason,
                        after_closing=after_closing)
            return [need], {"id": str(nid)}

        return self.commands.run(ctx, request_hash, build)

    def correct_need(self, ctx: Context, request_hash: str, *, need_id: UUID, children_count: int,
                     estimated_vnd: int, reason: str, district: str | None = None) -> Created:
        """Correct a surveyed need. A need's latest survey stands already, so a correction is a
        `Need.Surveyed` of the need that exists, its reason as the survey's note (the same event
        keeps the public leaf, the needs list and the figures as they are built). `district`
        limits it to one district: another district's need is answered as unknown."""
        reason = check_text(reason, "reason", max_length=MAX_NOTE, multiline=True, required=True)
        check_count(children_count, "children_count")
        if estimated_vnd != 0:
            check_amount(estimated_vnd, "estimated_vnd")

        def build() -> tuple[list[Aggregate], Created]:
            need = self.find_or_none(need_id, Need)
            if need is None or (district is not None and need.district != district):
                raise NotFound(f"no need with id {need_id}"
                               + (f" in district {district}" if district else ""))
            self.within_limit("estimated", estimated_vnd)
            # The need was surveyed already: its commune's eligibility was settled then.
            need.survey(children_count=children_count, estimated_vnd=estimated_vnd, note=reason,
                        meta=ctx.meta(reason), override_reason=None, after_closing=None)
            return [need], {"id": str(need_id)}

        return self.commands.run(ctx, request_hash, build)

    # ---- shared checks --------------------------------------------------------------------

    def within_limit(self, figure: str, amount: int, reads: CommandReads | None = None) -> None:
        """Refuse what would take a ledger-wide total past money.MAX_TOTAL_VND, counting what
        the command added before (`reads`). The cheap bound (the read models plus what the events
        they have not applied yet can add: see ledger/total_bound.py) is enough while the ledger
        is far from the limit, which is always but in an attack."""
        if not (reads or self.command_reads()).within_limit(
                figure, amount, lambda exact: self.totals(figure, exact=exact), MAX_TOTAL_VND):
            raise TotalLimitReached(f"the {figure} total of the ledger may not pass "
                                    f"{MAX_TOTAL_VND} đồng")

    @staticmethod
    def _value(amount_vnd: int | None, in_kind: Goods | None) -> tuple[int, Goods | None]:
        if (amount_vnd is None) == (in_kind is None):
            raise InvalidInput("give exactly one of amount_vnd or in_kind")
        if in_kind is not None:
            if not isinstance(in_kind, dict):
                raise InvalidInput("in_kind must be an object")
            goods = Goods(item=check_text(in_kind.get("item"), "in_kind.item", max_length=MAX_NAME,
                                          required=True),
                          unit=check_text(in_kind.get("unit"), "in_kind.unit", max_length=MAX_NAME,
                                          required=True),
                          quantity=in_kind.get("quantity"),
                          unit_value_vnd=in_kind.get("unit_value_vnd"))
            return goods_value(goods), goods
        assert amount_vnd is not None
        return check_amount(amount_vnd), None

    def check_restriction(self, restriction: dict[str, Any] | None) -> Restriction:
        checked = normalise_restriction(restriction)
        if "commune" in checked:
            district = self.areas.district_of(checked["commune"])
            if checked.setdefault("district", district) != district:
                raise InvalidInput("the restricted commune is not in the restricted district")
        elif "district" in checked:
            self.areas.district(checked["district"])
        return checked
