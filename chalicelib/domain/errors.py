"""Named domain failures. Each carries the API error code and HTTP status it maps to,
so the mapping to the contract's error shape lives in exactly one place
(`chalicelib.api.errors`)."""


class DomainError(Exception):
    code = "ERROR"
    status = 400
    default_message = "the request could not be completed"

    def __init__(self, message: str | None = None, **details):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.details = details


# --- request shape -----------------------------------------------------------
class InvalidRequest(DomainError):
    code, status, default_message = "INVALID_REQUEST", 400, "the request is malformed"


class ValidationFailed(DomainError):
    code, status, default_message = "VALIDATION_FAILED", 422, "some fields are invalid"


class PayloadTooLarge(DomainError):
    code, status, default_message = "PAYLOAD_TOO_LARGE", 413, "the request body is too large"


# --- who is calling ----------------------------------------------------------
class Unauthenticated(DomainError):
    code, status, default_message = "UNAUTHENTICATED", 401, "a valid bearer token is required"


class Forbidden(DomainError):
    code, status, default_message = "FORBIDDEN", 403, "you may not do this"


class NotFound(DomainError):
    code, status, default_message = "NOT_FOUND", 404, "no such resource"


# --- idempotency -------------------------------------------------------------
class IdempotencyKeyReused(DomainError):
    code, status = "IDEMPOTENCY_KEY_REUSED", 422
    default_message = "this Idempotency-Key was used with a different request"


class IdempotencyInProgress(DomainError):
    code, status = "IDEMPOTENCY_IN_PROGRESS", 409
    default_message = "a request with this Idempotency-Key is still running"


# --- providers and catalog ---------------------------------------------------
class ProviderNotApproved(DomainError):
    code, status, default_message = "PROVIDER_NOT_APPROVED", 403, "the provider is not approved"


class ServiceListed(DomainError):
    code, status = "SERVICE_LISTED", 409
    default_message = "delist the service before changing it (下架后才能修改)"


class InvalidLogo(DomainError):
    code, status = "INVALID_LOGO", 422
    default_message = "the logo must be an 80x80 jpg, png or bmp of at most 50 KB"


class InvalidImage(DomainError):
    """A picture for a service's content that is not a jpg, png or webp of at most 2 MB."""
    code, status = "INVALID_IMAGE", 422
    default_message = "a picture must be a decodable jpg, png or webp of at most 2 MB"


class ServiceIncomplete(DomainError):
    code, status, default_message = "SERVICE_INCOMPLETE", 422, "the service is not complete"


class ListingLimitReached(DomainError):
    code, status, default_message = "LISTING_LIMIT_REACHED", 409, "at most 10 listed services"


class DuplicateListing(DomainError):
    code, status = "DUPLICATE_LISTING", 409
    default_message = "the same service is already listed (重复铺货)"


class TrialSlotUsed(DomainError):
    code, status = "TRIAL_SLOT_USED", 409
    default_message = "one trial listing per provider per campaign"


class CampaignNotActive(DomainError):
    code, status, default_message = "CAMPAIGN_NOT_ACTIVE", 409, "the campaign is not active"


class TrialPriceTooHigh(DomainError):
    code, status = "TRIAL_PRICE_TOO_HIGH", 422
    default_message = "the price is above the campaign's max_price"


class ServiceHasOpenOrders(DomainError):
    code, status, default_message = "SERVICE_HAS_OPEN_ORDERS", 409, "the service has open orders"


class InvalidState(DomainError):
    """A catalog or provider action that does not fit the current status."""

    code, status, default_message = "INVALID_STATE", 409, "not possible in the current status"


# --- orders and money --------------------------------------------------------
class ServiceNotListed(DomainError):
    code, status, default_message = "SERVICE_NOT_LISTED", 409, "the service is not listed"


class ServiceAtCapacity(DomainError):
    code, status, default_message = "SERVICE_AT_CAPACITY", 409, "the service is at capacity"


class InvalidTransition(DomainError):
    code, status = "INVALID_TRANSITION", 409
    default_message = "the order is not in a state that allows this"


class CancelNotAllowed(InvalidTransition):
    """The contract's cancel row: any refused cancellation by the buyer is this code."""
    code, status, default_message = "CANCEL_NOT_ALLOWED", 409, "the order cannot be cancelled now"


class PriceNotAgreed(InvalidTransition):
    """A negotiable order is paid only at an amount its provider set or confirmed."""
    code, status = "PRICE_NOT_AGREED", 409
    default_message = "the provider has not agreed to this price yet"


class RevisionsExhausted(InvalidTransition):
    """The chosen package's revisions are used up (issue 26)."""
    code, status = "REVISIONS_EXHAUSTED", 409
    default_message = "the package's revisions are used up"


class ProposalPending(InvalidTransition):
    """One open proposal per order: answer or withdraw it first."""

    code, status = "PROPOSAL_PENDING", 409
    default_message = "this order already has an open proposal"


class PaymentPending(InvalidTransition):
    """A payment is open at the gateway for the order's current plan: its price and plan
    stay as the buyer is paying them until it is settled or closed."""

    code, status = "PAYMENT_PENDING", 409
    default_message = "a payment for this order is pending at the gateway"


class PlanChanged(InvalidTransition):
    """The buyer pays the plan they saw: the order's plan changed since (plan_version)."""

    code, status = "PLAN_CHANGED", 409
    default_message = "the price or plan changed; read the order again before paying"


class TooManyUnpaidOrders(DomainError):
    """One buyer holds at most MAX_UNPAID_ORDERS unpaid orders open at once."""

    code, status = "TOO_MANY_UNPAID_ORDERS", 409
    default_message = "too many unpaid orders: pay or cancel one first"


class ProposalNotOpen(InvalidTransition):
    """The proposal was already accepted, declined, withdrawn, or has lapsed."""

    code, status, default_message = "PROPOSAL_NOT_OPEN", 409, "the proposal is no longer open"


class DeliverablesWithdrawn(DomainError):
    code, status = "DELIVERABLES_WITHDRAWN", 403
    default_message = "the order closed with nothing paid to the provider: its files are withdrawn"


class ReviewNotAllowed(DomainError):
    code, status, default_message = "REVIEW_NOT_ALLOWED", 409, "a review is not possible now"


class ServiceUnavailable(DomainError):
    """DynamoDB or S3 throttled us or could not be reached. The request may or may not
    have taken effect; repeating it (same Idempotency-Key) is safe and finishes it."""

    code, status = "SERVICE_UNAVAILABLE", 503
    default_message = "the service is busy; retry the same request in a moment"
    retry_after_seconds = 2


class Conflict(DomainError):
    """Somebody else changed the resource at the same moment; retrying is safe."""

    code, status, default_message = "CONFLICT", 409, "the resource changed concurrently; retry"


# --- payouts -------------------------------------------------------------------
class InsufficientBalance(DomainError):
    code, status, default_message = "INSUFFICIENT_BALANCE", 409, "more than is available"


class PayoutAccountRequired(DomainError):
    code, status = "PAYOUT_ACCOUNT_REQUIRED", 409
    default_message = "set a payout account first (PUT /providers/me/payout-account)"


# --- message attachments (issue 21) --------------------------------------------
class OrderClosed(DomainError):
    """Files are asked for only while the order is open (not completed, rejected,
    expired, cancelled or resolved)."""

    code, status, default_message = "ORDER_CLOSED", 409, "the order is closed"


class AttachmentLimitReached(DomainError):
    code, status = "ATTACHMENT_LIMIT_REACHED", 409
    default_message = "the order has as many attachments as it may have"
# --- contracts (包月合同) ---------------------------------------------------------
class ContractSigned(InvalidTransition):
    """Both parties signed: the terms are what they agreed and no longer change."""

    code, status = "CONTRACT_SIGNED", 409
    default_message = "both parties have signed: the terms can no longer change"


# --- disputes (issue 24) ---------------------------------------------------------
class EvidenceClosed(DomainError):
    """The dispute's evidence window (EVIDENCE_SECONDS after it opened) has passed."""

    code, status = "EVIDENCE_CLOSED", 409
    default_message = "the evidence window of this dispute has closed"
