"""Domain errors. Each carries the stable problem `code` of DESIGN §7."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    status = 400
    title = "Domain rule broken"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(DomainError):
    code = "validation_error"
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status = 409
    title = "Insufficient funds"


class AlreadyReversed(DomainError):
    code = "already_reversed"
    status = 409
    title = "Already reversed"


class DuplicateSupport(DomainError):
    code = "duplicate_support"
    status = 409
    title = "Duplicate support"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency key reused with a different request"


class AlreadyRecorded(DomainError):
    code = "already_recorded"
    status = 409
    title = "Already recorded"


class TotalLimitReached(DomainError):
    code = "total_limit_reached"
    status = 422
    title = "The ledger's total would pass its limit"


class RestrictionMismatch(DomainError):
    """A receipt for a pledge names a restriction other than the pledge's own."""

    code = "restriction_mismatch"
    status = 422
    title = "The restriction differs from the pledge's"


class Busy(DomainError):
    code = "busy"
    status = 503
    title = "Too much contention, try again"


class ChildElsewhere(DomainError):
    code = "child_in_another_commune"
    status = 422
    title = "The child is registered in another commune"


class CommuneNotEligible(DomainError):
    """The plan supports only communes flagged extremely difficult; an admin may override it
    with a reason, which is recorded and counted publicly."""

    code = "commune_not_eligible"
    status = 422
    title = "The commune is not flagged extremely difficult"


class DistributedBeforeReceived(DomainError):
    """A distribution dated before the money or goods it draws on were received."""

    code = "distributed_before_received"
    status = 422
    title = "The distribution is dated before the receipts it draws on"


class SeasonUnknown(DomainError):
    """A command names a season nobody opened (`GET /seasons` lists them)."""

    code = "season_unknown"
    status = 422
    title = "No such season"


class SeasonClosed(DomainError):
    """A closed season takes no new allocation, need or distribution (a reversal still may)."""

    code = "season_closed"
    status = 409
    title = "The season is closed"


class OutsideSeason(DomainError):
    """A distribution dated outside the dates of the season it names."""

    code = "outside_season"
    status = 422
    title = "The date is outside the season"


class SeasonOverlap(DomainError):
    """A new season's dates overlap a season already opened: every day belongs to one season."""

    code = "season_overlap"
    status = 409
    title = "The season overlaps another"


class NotAllowed(DomainError):
    """The caller's role may not take this decision (a district officer or an auditor approving)."""

    code = "forbidden"
    status = 403
    title = "Not allowed"


class SamePerson(DomainError):
    """Four eyes: the person who proposed a large allocation or reversal can't approve it."""

    code = "same_person"
    status = 403
    title = "The proposer can't approve their own proposal"


class AlreadyDecided(DomainError):
    """A proposal is approved or rejected once; a second decision (two approvers at once) is refused."""

    code = "already_decided"
    status = 409
    title = "The proposal was already decided"


class PartnerUnknown(DomainError):
    """`mobilised_by` names no partner organisation (`GET /partners` lists them)."""

    code = "partner_unknown"
    status = 422
    title = "No such partner organisation"


class WitnessUnknown(DomainError):
    """A cosignature under a key that is not one of the configured witnesses'."""
    code = "witness_unknown"
    status = 403
    title = "Not a configured witness"


class CheckpointUnknown(DomainError):
    """A cosignature over a checkpoint this ledger never signed (another origin, size or root)."""
    code = "checkpoint_unknown"
    status = 409
    title = "Not a checkpoint this ledger signed"


class CosignatureInvalid(DomainError):
    """A malformed note or a cosignature by a configured witness that does not verify."""
    code = "cosignature_invalid"
    status = 422
    title = "The cosignature does not verify"
