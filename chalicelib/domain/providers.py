"""A provider's qualification (发服务资质): the statuses of an application and which of
them the public may see."""
PENDING, APPROVED, REJECTED, SUSPENDED = "pending", "approved", "rejected", "suspended"
STATUSES = (PENDING, APPROVED, REJECTED, SUSPENDED)
PUBLIC_STATUSES = (APPROVED, SUSPENDED)
# What a qualification document is (营业执照, 身份证, other).
DOCUMENT_KINDS = ("business_license", "id_card", "other")
DOCUMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")
DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
