"""A provider's qualification (发服务资质): the statuses of an application and which of
them the public may see."""
PENDING, APPROVED, REJECTED, SUSPENDED = "pending", "approved", "rejected", "suspended"
STATUSES = (PENDING, APPROVED, REJECTED, SUSPENDED)
PUBLIC_STATUSES = (APPROVED, SUSPENDED)
