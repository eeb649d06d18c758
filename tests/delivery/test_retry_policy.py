"""The retry policy as functions: backoff with full jitter, Retry-After, and what is retried at all."""

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.delivery.policy import Outcome, next_delay, outcome_of_status, parse_retry_after, transition_after
from dashboard.models import Delivery, Target

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def schedule(settings):
    settings.EVENTHUB = {**settings.EVENTHUB, "RETRY_BASE_SECONDS": 1.0, "RETRY_CAP_SECONDS": 60.0}


def test_backoff_grows_exponentially_within_full_jitter(schedule):
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (6, 32)]:
        delays = [next_delay(attempt) for _ in range(300)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # jitter spans the whole range, not a fixed step


def test_backoff_is_capped(schedule):
    assert max(next_delay(40) for _ in range(300)) <= 60


def test_retry_after_is_a_floor(schedule):
    assert all(next_delay(1, retry_after=7) >= 7 for _ in range(100))


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("3", NOW) == 3
    assert parse_retry_after("Sat, 31 Jan 2026 12:00:10 GMT", NOW) == 10
    assert parse_retry_after("soon", NOW) is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_retried(status):
    outcome = outcome_of_status(Outcome(started_at=NOW), status)
    assert (outcome.succeeded, outcome.retriable) == (False, True)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_client_errors_are_final(status):
    outcome = outcome_of_status(Outcome(started_at=NOW), status)
    assert (outcome.retriable, outcome.dead_reason) == (False, Delivery.DeadReason.NON_RETRIABLE_STATUS)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_failures_and_not_followed(status):
    outcome = outcome_of_status(Outcome(started_at=NOW), status)
    assert (outcome.succeeded, outcome.dead_reason) == (False, Delivery.DeadReason.REDIRECT)


def _delivery(attempts: int, age: timedelta = timedelta(0)) -> Delivery:
    return Delivery(attempts=attempts, created_at=NOW - age)


def test_failure_within_the_attempt_budget_is_retried_later(schedule):
    target = Target(maximum_retry_attempts=2)
    transition = transition_after(_delivery(2), target, Outcome(started_at=NOW, error="HTTP 503"), NOW)
    assert transition.state == Delivery.State.RETRYING
    assert NOW <= transition.next_attempt_at <= NOW + timedelta(seconds=2)


def test_failure_after_the_last_retry_is_dead_with_the_exhausted_condition(schedule):
    target = Target(maximum_retry_attempts=2)
    transition = transition_after(_delivery(3), target, Outcome(started_at=NOW, error="HTTP 503"), NOW)
    assert (transition.state, transition.dead_reason) == (Delivery.State.DEAD, "maximum_retry_attempts")


def test_zero_retries_means_one_try(schedule):
    transition = transition_after(_delivery(1), Target(maximum_retry_attempts=0), Outcome(started_at=NOW), NOW)
    assert transition.state == Delivery.State.DEAD


def test_retry_that_would_exceed_the_maximum_age_is_dead(schedule):
    target = Target(maximum_event_age_seconds=60)
    asked = Outcome(started_at=NOW, retry_after=5)  # the receiver asks for 5 s; the delivery has less left
    late = transition_after(_delivery(1, age=timedelta(seconds=56)), target, asked, NOW)
    ok = transition_after(_delivery(1, age=timedelta(seconds=54)), target, asked, NOW)
    assert (late.state, late.dead_reason) == (Delivery.State.DEAD, "maximum_event_age")
    assert ok.state == Delivery.State.RETRYING


def test_age_counts_from_the_latest_redrive(schedule):
    delivery = Delivery(attempts=1, created_at=NOW - timedelta(days=3), redriven_at=NOW - timedelta(seconds=5))
    transition = transition_after(delivery, Target(maximum_event_age_seconds=60), Outcome(started_at=NOW), NOW)
    assert transition.state == Delivery.State.RETRYING
