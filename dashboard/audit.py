"""The one way to write the audit log: every operator action (dashboard, admin or API) calls `record_audit`
after it has done its work, with who, what and how many."""

import logging

from dashboard.models.audit import AuditEntry

log = logging.getLogger(__name__)

Action = AuditEntry.Action

# How many entries the Audit page shows at a time (older ones are a "More" link away).
PAGE_ENTRIES = 100

# A projection's buttons (dashboard) and actions (API), as audited.
PROJECTION_ACTIONS = {
    "rebuild": Action.PROJECTION_REBUILD,
    "cancel-rebuild": Action.PROJECTION_CANCEL_REBUILD,
    "retry": Action.PROJECTION_RETRY,
    "skip": Action.PROJECTION_SKIP,
}


def record_audit(
    action: AuditEntry.Action,
    subject: str,
    *,
    user=None,
    actor: str = "",
    count: int | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Record that `user` (or `actor`, such as `api:<access key id>` for the API) did `action` to `subject`."""
    who = actor or (user.get_username() if user is not None and user.is_authenticated else "") or "system"
    entry = AuditEntry.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        actor=who[:150],
        action=action,
        subject=subject[:300],
        count=count,
        detail=detail or {},
    )
    log.info("audit: %s %s %s%s", who, action, subject, f" ({count})" if count is not None else "")
    return entry


def recent_entries(*, action: str = "", before: int | None = None) -> list[AuditEntry]:
    """The newest PAGE_ENTRIES entries, of one action if given, older than the entry id `before` if given."""
    found = AuditEntry.objects.all()
    if action:
        found = found.filter(action=action)
    if before is not None:
        found = found.filter(id__lt=before)
    return list(found.order_by("-id")[:PAGE_ENTRIES])
