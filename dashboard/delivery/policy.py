"""The retry policy: which outcomes are worth another try, and when.

Retry only what can succeed later (timeouts, connection errors, 408, 429, 5xx); any other answer is
final and the delivery is dead-lettered at once with the reason. A 410 Gone also says the endpoint is
gone for good: as Standard Webhooks asks, the worker then disables the target (targets.py). Backoff is
exponential with full jitter, and a receiver's `Retry-After` is honoured. Limits follow EventBridge's RetryPolicy:
`maximum_retry_attempts` retries after the first try, within `maximum_event_age_seconds`.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings

from dashboard.models import Delivery, Target

DeadReason = Delivery.DeadReason
State = Delivery.State

RETRIABLE_STATUSES = frozenset({408, 429})
GONE = 410


def next_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first try).

    Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))], so retries of many deliveries to one
    recovering target spread out instead of arriving together. A `Retry-After` from the receiver is a
    floor: we never come back earlier than asked.
    """
    knobs = settings.EVENTHUB
    ceiling = min(knobs["RETRY_CAP_SECONDS"], knobs["RETRY_BASE_SECONDS"] * 2 ** max(attempt - 1, 0))
    delay = random.uniform(0, ceiling)
    return max(delay, retry_after) if retry_after is not None else delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds: either delta-seconds or an HTTP date (RFC 9110); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


@dataclass
class Outcome:
    """What one attempt did. `retriable` is only meaningful when it failed."""

    started_at: datetime
    duration_ms: float = 0.0
    succeeded: bool = False
    retriable: bool = True
    status_code: int | None = None
    error: str = ""
    dead_reason: str = ""
    retry_after: float | None = None
    response_excerpt: str = ""
    request_headers: dict = field(default_factory=dict)
    target_gone: bool = False  # the receiver answered 410: the target is to be disabled


def outcome_of_status(outcome: Outcome, status: int) -> Outcome:
    """Classify an HTTP answer: 2xx delivered, 3xx never followed, 408/429/5xx retried, other 4xx final,
    and 410 final for every later delivery too (the target is gone)."""
    outcome.status_code = status
    if 200 <= status < 300:
        outcome.succeeded = True
    elif 300 <= status < 400:
        outcome.retriable, outcome.dead_reason = False, DeadReason.REDIRECT
        outcome.error = f"HTTP {status}: redirects are not followed"
    elif status in RETRIABLE_STATUSES or status >= 500:
        outcome.error = f"HTTP {status}"
    elif status == GONE:
        outcome.retriable, outcome.dead_reason, outcome.target_gone = False, DeadReason.NON_RETRIABLE_STATUS, True
        outcome.error = "HTTP 410 Gone: the target is gone, so it was disabled (re-enable it, then redrive)"
    else:
        outcome.retriable, outcome.dead_reason = False, DeadReason.NON_RETRIABLE_STATUS
        outcome.error = f"HTTP {status}: not retried (only 408, 429 and 5xx are)"
    return outcome


@dataclass(frozen=True)
class Transition:
    """Where a delivery goes after an attempt."""

    state: str
    next_attempt_at: datetime | None = None
    dead_reason: str = ""


def transition_after(delivery: Delivery, target: Target | None, outcome: Outcome, now: datetime) -> Transition:
    """The delivery's next state after `outcome`; `delivery.attempts` already counts this attempt."""
    if outcome.succeeded:
        return Transition(State.SUCCEEDED)
    if not outcome.retriable or target is None:
        return Transition(State.DEAD, dead_reason=outcome.dead_reason or DeadReason.TARGET_DELETED)
    if delivery.attempts > target.maximum_retry_attempts:
        return Transition(State.DEAD, dead_reason=DeadReason.MAXIMUM_RETRY_ATTEMPTS)
    due = now + timedelta(seconds=next_delay(delivery.attempts, outcome.retry_after))
    if due - delivery.age_started_at > timedelta(seconds=target.maximum_event_age_seconds):
        return Transition(State.DEAD, dead_reason=DeadReason.MAXIMUM_EVENT_AGE)
    return Transition(State.RETRYING, next_attempt_at=due)


def too_old(delivery: Delivery, target: Target, now: datetime) -> bool:
    """Past its maximum age before this attempt even starts (it waited behind a rate limit or a backlog)."""
    return now - delivery.age_started_at > timedelta(seconds=target.maximum_event_age_seconds)
