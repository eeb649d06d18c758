"""Reading dead letters for the operator: the filter form, groups by target and error, the rows a page
shows, and the selection a bulk action works on. Changing them is `dashboard.delivery.redrive`'s job.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from dashboard.delivery.redrive import DeadLetterFilter, dead_letters
from dashboard.models import Delivery
from dashboard.ui.browsing import WINDOWS

PAGE_ROWS = 100  # rows listed; bulk actions still reach everything the filter matches
# Redriving more than this many at once asks first, showing the count and the dry run's buckets.
CONFIRM_ABOVE = 25


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@dataclass(frozen=True)
class TriageFilter:
    target_id: int | None = None
    rule_id: int | None = None
    error: str = ""
    status_code: int | None = None
    window: str = ""

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> "TriageFilter":
        window = params.get("window") or ""
        return cls(
            target_id=_int(params.get("target")),
            rule_id=_int(params.get("rule")),
            error=(params.get("error") or "").strip()[:200],
            status_code=_int(params.get("status")),
            window=window if window in WINDOWS else "",
        )

    @property
    def is_empty(self) -> bool:
        return self == TriageFilter()

    def query_string(self) -> str:
        pairs = {
            "target": self.target_id,
            "rule": self.rule_id,
            "error": self.error,
            "status": self.status_code,
            "window": self.window,
        }
        return urlencode({key: value for key, value in pairs.items() if value not in (None, "")})

    def queryset(self, *, now: datetime | None = None) -> QuerySet[Delivery]:
        since = (now or timezone.now()) - WINDOWS[self.window] if self.window else None
        return dead_letters(
            DeadLetterFilter(
                rule_id=self.rule_id,
                target_id=self.target_id,
                error=self.error,
                status_code=self.status_code,
                since=since,
            )
        )


@dataclass(frozen=True)
class Group:
    """Dead letters sharing a target, a reason and a last status code."""

    target_id: int | None
    target_name: str
    reason: str
    status_code: int | None
    count: int
    latest: datetime | None
    sample_error: str

    @property
    def key(self) -> str:
        """The group's identity in a form field: target, reason and status, as the selection reads them."""
        return f"{self.target_id or ''}|{self.reason}|{self.status_code or ''}"


def groups(dead: QuerySet[Delivery]) -> list[Group]:
    # Counted from the dead-letter index alone; each group's sample error is then one of its rows', one
    # indexed read per group (reading every row's error to pick one cost most of a second at 90,000).
    rows = (
        dead.order_by()
        .values("target_id", "target__name", "dead_reason", "last_status_code")
        .annotate(n=Count("id"), latest=Max("completed_at"))
        .order_by("-n", "target__name")
    )
    return [
        Group(
            target_id=row["target_id"],
            target_name=row["target__name"] or "deleted target",
            reason=row["dead_reason"],
            status_code=row["last_status_code"],
            count=row["n"],
            latest=row["latest"],
            sample_error=_sample_error(dead, row),
        )
        for row in rows
    ]


def _sample_error(dead: QuerySet[Delivery], row: dict) -> str:
    newest = (
        dead.filter(
            target_id=row["target_id"], dead_reason=row["dead_reason"], last_status_code=row["last_status_code"]
        )
        .order_by()  # any row of the group: ordering by time made PostgreSQL sort a NULL-status group
        .values_list("last_error", flat=True)[:1]
    )
    return next(iter(newest), "") or ""


def rows(dead: QuerySet[Delivery]) -> list[Delivery]:
    return list(dead.select_related("event", "target", "rule")[:PAGE_ROWS])


def selection(triage_filter: TriageFilter, form: Mapping) -> QuerySet[Delivery]:
    """What a bulk action acts on, from its form: chosen ids, one group, or all that the filter matches.

    Always dead letters only: whatever the form says, nothing else can be redriven or purged.
    """
    scope = form.get("scope", "ids")
    if scope == "filter":
        return triage_filter.queryset()
    if scope == "group":
        target, reason, status = (form.get("group", "") + "||").split("|")[:3]
        chosen = triage_filter.queryset().filter(dead_reason=reason)
        chosen = chosen.filter(target_id=int(target)) if target.isdigit() else chosen.filter(target__isnull=True)
        if status.isdigit():
            return chosen.filter(last_status_code=int(status))
        return chosen.filter(last_status_code__isnull=True)
    ids = form.getlist("selected") if hasattr(form, "getlist") else list(form.get("selected", []))
    return dead_letters(DeadLetterFilter(ids=ids))
