"""A 410 Gone disables the target (Standard Webhooks): the delivery is dead-lettered with the status,
nothing more is sent to the target, what waited for it is kept for a redrive once it is re-enabled."""

import logging
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.delivery.planning import routing_cache
from dashboard.delivery.policy import Outcome, outcome_of_status
from dashboard.delivery.redrive import dead_letters, dry_run_redrive, redrive_dead_letters
from dashboard.models import Delivery, Target
from dashboard.models.rules import Rule
from tests.dashboard_support import make_viewer
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

DeadReason = Delivery.DeadReason
NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def _all_finished(count: int) -> list[Delivery]:
    finished = list(Delivery.objects.filter(state__in=Delivery.TERMINAL_STATES).order_by("event_id"))
    return finished if len(finished) == count else []


def _gone_with_one_waiting(receiver) -> tuple[Delivery, Delivery]:
    """Two events for one ordered key: the first is answered 410, the second waits behind it meanwhile.
    Every later request would be answered 200."""
    receiver.script("/hook", Reply(410, body=b"this endpoint was deleted"), Reply(200))
    make_rule_with_target(receiver.url("/hook"), ordered_by="detail.orderId")
    publish(2, orderId="o-1")
    gone, waiting = wait_until(lambda: _all_finished(2), message="both deliveries to finish")
    return gone, waiting


def _re_enable(target: Target) -> None:
    target.enabled = True
    target.save()
    routing_cache.invalidate()


def test_410_is_final_and_marks_the_target_gone():
    outcome = outcome_of_status(Outcome(started_at=NOW), 410)
    assert (outcome.retriable, outcome.target_gone, outcome.status_code) == (False, True, 410)


@pytest.mark.parametrize("status", [400, 404, 429, 500])
def test_other_failures_do_not_mark_the_target_gone(status):
    assert not outcome_of_status(Outcome(started_at=NOW), status).target_gone


def test_410_dead_letters_the_delivery_with_the_status_and_why(fast, receiver):
    receiver.script("/hook", Reply(410))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        [delivery] = wait_until(lambda: _all_finished(1), message="the delivery to finish")
    assert (delivery.state, delivery.dead_reason, delivery.last_status_code) == ("dead", "non_retriable_status", 410)
    assert "410 Gone" in delivery.last_error and "disabled" in delivery.last_error
    assert list(dead_letters()) == [delivery]
    assert len(receiver.requests("/hook")) == 1


def test_410_disables_the_target_and_logs_it(fast, receiver, caplog):
    receiver.script("/hook", Reply(410))
    target = make_rule_with_target(receiver.url("/hook"))
    publish()
    with caplog.at_level(logging.WARNING, logger="dashboard.delivery.targets"), running_dispatcher():
        wait_until(lambda: _all_finished(1), message="the delivery to finish")
    assert Target.objects.get(pk=target.pk).enabled is False
    assert Rule.objects.get(pk=target.rule_id).is_enabled  # only the target is gone, not the rule
    assert any("410 Gone: disabled" in record.getMessage() for record in caplog.records)


def test_a_gone_target_records_why_and_when_until_it_is_re_enabled(fast, receiver):
    receiver.script("/hook", Reply(410))
    target = make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        [delivery] = wait_until(lambda: _all_finished(1), message="the delivery to finish")
    target.refresh_from_db()
    assert target.disabled_reason == f"answered 410 Gone to {delivery.webhook_id}"
    assert target.disabled_at is not None

    _re_enable(target)

    target.refresh_from_db()
    assert (target.disabled_reason, target.disabled_at) == ("", None)


def test_a_delivery_waiting_for_a_gone_target_is_dead_lettered_unsent(fast, receiver):
    with running_dispatcher():
        gone, waiting = _gone_with_one_waiting(receiver)
    assert (waiting.state, waiting.dead_reason, waiting.attempts) == ("dead", DeadReason.TARGET_DISABLED, 0)
    assert "disabled" in waiting.last_error and gone.webhook_id in waiting.last_error
    assert receiver.ids("/hook") == [gone.webhook_id]
    assert set(dead_letters()) == {gone, waiting}


def test_a_redrive_dry_run_says_the_target_is_disabled(fast, receiver):
    with running_dispatcher():
        gone, waiting = _gone_with_one_waiting(receiver)
    assert dry_run_redrive([gone.id, waiting.id])["target_deleted_or_disabled"] == 2


def test_the_dead_letter_page_shows_the_target_is_disabled(fast, receiver):
    with running_dispatcher():
        _gone_with_one_waiting(receiver)
    client = Client()
    client.force_login(make_viewer())
    page = client.get(reverse("dashboard:dead-letters")).content.decode()
    assert page.count('<span class="pill pill-muted" title="Disabled by the worker: answered 410 Gone') == 2
    assert "t1 (r1) – disabled</option>" in page


def test_events_published_after_the_target_is_gone_are_not_sent_to_it(fast, receiver):
    receiver.script("/hook", Reply(410), Reply(200))
    make_rule_with_target(receiver.url("/hook"))
    publish()
    with running_dispatcher():
        wait_until(lambda: _all_finished(1), message="the 410")
        publish()
    assert Delivery.objects.count() == 1
    assert len(receiver.requests("/hook")) == 1


def test_after_re_enabling_a_redrive_delivers_the_waiting_delivery_once(fast, receiver):
    with running_dispatcher():
        gone, waiting = _gone_with_one_waiting(receiver)
        _re_enable(waiting.target)
        assert redrive_dead_letters([waiting.id]).redriven == 1
        assert redrive_dead_letters([waiting.id]).redriven == 0  # a second click finds nothing left
        wait_until(lambda: Delivery.objects.get(pk=waiting.pk).state == Delivery.State.SUCCEEDED, message="the redrive")
    assert receiver.ids("/hook") == [gone.webhook_id, waiting.webhook_id]
    assert Target.objects.get(pk=waiting.target_id).enabled
