"""Dead letters: selecting them, redriving (idempotent, history kept), purging, and the dry run."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.delivery import transport
from dashboard.delivery.redrive import (
    DeadLetterFilter,
    cancel_deliveries,
    dead_letters,
    dry_run_redrive,
    purge_dead_letters,
    redrive_dead_letters,
    redrive_progress,
)
from dashboard.models import Delivery, DeliveryAttempt, Rule, Target
from dashboard.ui import broadcast
from tests.delivery_harness import (
    Reply,
    dead_letters_for,
    lane_rule,
    make_rule_with_target,
    publish,
    running_dispatcher,
)
from tests.waiting import wait_until


def _stream_ids(redis) -> list[str]:
    return [fields[b"d"].decode() for _, fields in redis.xrange(transport.stream_key())]


@pytest.mark.django_db
def test_dead_letters_filter_by_rule_target_error_status_and_time():
    first, second = lane_rule("r1"), lane_rule("r2")
    [timeout] = dead_letters_for(target=first, status=None, error="timed out after 5 s")
    [gone] = dead_letters_for(target=second, status=410, error="HTTP 410", reason="non_retriable_status")
    Delivery.objects.filter(pk=gone.pk).update(completed_at=timezone.now() - timedelta(hours=2))
    assert list(dead_letters(DeadLetterFilter(rule_id=first.rule_id))) == [timeout]
    assert list(dead_letters(DeadLetterFilter(target_id=second.pk))) == [gone]
    assert list(dead_letters(DeadLetterFilter(error="timed out"))) == [timeout]
    assert list(dead_letters(DeadLetterFilter(error="non_retriable"))) == [gone]
    assert list(dead_letters(DeadLetterFilter(status_code=410))) == [gone]
    assert list(dead_letters(DeadLetterFilter(since=timezone.now() - timedelta(hours=1)))) == [timeout]
    assert list(dead_letters(DeadLetterFilter(until=timezone.now() - timedelta(hours=1)))) == [gone]
    assert list(dead_letters(DeadLetterFilter(ids=[gone.pk, "not-a-uuid"]))) == [gone]


@pytest.mark.django_db
def test_dead_letters_leave_out_active_and_delivered():
    target = lane_rule()
    publish(2, lane="r1")
    [dead] = dead_letters_for(target=target)
    assert list(dead_letters()) == [dead]


@pytest.mark.django_db
def test_redrive_resets_attempts_records_who_and_enqueues(redis, django_capture_on_commit_callbacks):
    operator = User.objects.create_user("ops")
    [delivery] = dead_letters_for()
    with django_capture_on_commit_callbacks(execute=True):
        result = redrive_dead_letters([delivery.pk], user=operator)
    delivery.refresh_from_db()
    assert (result.redriven, result.skipped) == (1, 0)
    assert (delivery.state, delivery.attempts, delivery.dead_reason) == ("pending", 0, "")
    assert (delivery.redrive_count, delivery.redriven_by, delivery.redriven_by_name) == (1, operator, "ops")
    assert delivery.redriven_at is not None
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1  # history kept
    assert _stream_ids(redis) == [str(delivery.pk)]


@pytest.mark.django_db
def test_redrive_twice_redrives_once(redis, django_capture_on_commit_callbacks):
    [delivery] = dead_letters_for()
    with django_capture_on_commit_callbacks(execute=True):
        first = redrive_dead_letters([delivery.pk])
        second = redrive_dead_letters([delivery.pk])
    assert (first.redriven, second.redriven, second.skipped) == (1, 0, 1)
    assert _stream_ids(redis) == [str(delivery.pk)]


@pytest.mark.django_db(transaction=True)
def test_concurrent_redrive_clicks_redrive_once():
    deliveries = dead_letters_for(20)
    results = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        results.append(redrive_dead_letters(Delivery.objects.filter(state="dead")).redriven)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == len(deliveries)
    assert set(Delivery.objects.values_list("redrive_count", flat=True)) == {1}


@pytest.mark.django_db
def test_redrive_skips_deliveries_whose_target_was_deleted():
    [delivery] = dead_letters_for()
    delivery.target.delete()
    result = redrive_dead_letters([delivery.pk])
    assert (result.redriven, result.skipped) == (0, 1)
    assert Delivery.objects.get().state == Delivery.State.DEAD


@pytest.mark.django_db
def test_redrive_with_a_rate_spreads_the_deliveries_over_time(redis, django_capture_on_commit_callbacks):
    deliveries = dead_letters_for(10)
    with django_capture_on_commit_callbacks(execute=True):
        redrive_dead_letters([d.pk for d in deliveries], rate=5)
    due = sorted(Delivery.objects.values_list("next_attempt_at", flat=True))
    assert (due[-1] - due[0]).total_seconds() == pytest.approx(9 / 5, abs=0.01)
    scores = sorted(score for _, score in redis.zrange(transport.delayed_key(), 0, -1, withscores=True))
    assert scores[-1] - scores[0] == pytest.approx(9 / 5, abs=0.01)


@pytest.mark.django_db
def test_redrive_reports_progress_per_chunk(monkeypatch):
    monkeypatch.setattr("dashboard.delivery.redrive.CHUNK", 4)
    deliveries = dead_letters_for(10)
    seen = []
    redrive_dead_letters([d.pk for d in deliveries], progress=lambda done, total: seen.append((done, total)))
    assert seen == [(4, 10), (8, 10), (10, 10)]


@pytest.mark.django_db
def test_redrive_pushes_a_live_hint_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    pushed = []
    monkeypatch.setattr(broadcast, "deliveries_changed", pushed.append)
    [delivery] = dead_letters_for()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        redrive_dead_letters([delivery.pk])
    assert pushed == []
    for callback in callbacks:
        callback()
    assert pushed == [[delivery.pk]]


@pytest.mark.django_db
def test_purge_deletes_only_dead_letters_and_their_history():
    target = lane_rule()
    publish(2, lane="r1")
    [dead] = dead_letters_for(target=target)
    assert purge_dead_letters(Delivery.objects.all()) == 1
    assert not Delivery.objects.filter(pk=dead.pk).exists()
    assert not DeliveryAttempt.objects.filter(delivery_id=dead.pk).exists()
    assert Delivery.objects.filter(state=Delivery.State.PENDING).count() == 2


@pytest.mark.django_db
def test_dry_run_groups_by_predicted_outcome():
    healthy, failing, changed, disabled, deleted = (
        lane_rule(name) for name in ("healthy", "failing", "changed", "disabled", "deleted")
    )
    dead = {t.rule.name: dead_letters_for(target=t)[0] for t in (healthy, failing, changed, disabled, deleted)}
    DeliveryAttempt.objects.create(
        delivery=dead["healthy"], target=healthy, round=1, number=1, started_at=timezone.now(), succeeded=True
    )
    Rule.objects.filter(pk=changed.rule_id).update(event_pattern='{"source": ["billing"]}')
    Target.objects.filter(pk=disabled.pk).update(enabled=False)
    deleted.delete()
    buckets = dry_run_redrive([d.pk for d in dead.values()])
    assert buckets == {
        "will_be_delivered": 1,
        "rule_no_longer_matches": 1,
        "target_deleted_or_disabled": 2,
        "target_still_failing": 1,
    }
    assert Delivery.objects.filter(state=Delivery.State.DEAD).count() == 5  # nothing changed


@pytest.mark.django_db(transaction=True)
def test_exhausted_then_redriven_delivery_arrives_exactly_once_more(fast, receiver):
    receiver.script("/hook", Reply(503), Reply(503), Reply(200))
    make_rule_with_target(receiver.url("/hook"), maximum_retry_attempts=1)
    publish()
    with running_dispatcher():
        dead = wait_until(lambda: Delivery.objects.filter(state="dead").first(), message="a dead letter")
        assert len(receiver.requests("/hook")) == 2
        result = redrive_dead_letters([dead.pk])
        redrive_dead_letters([dead.pk])  # the second click
        wait_until(lambda: Delivery.objects.filter(state="succeeded").exists(), message="the redriven delivery")
    assert result.redriven == 1
    assert receiver.ids("/hook") == [dead.webhook_id] * 3
    assert redrive_progress(result.ids)["succeeded"] == 1
    rounds = list(DeliveryAttempt.objects.order_by("started_at").values_list("round", "number", "status_code"))
    assert rounds == [(0, 1, 503), (0, 2, 503), (1, 1, 200)]


@pytest.mark.django_db
def test_cancel_stops_only_unfinished_deliveries():
    target = lane_rule()
    [dead] = dead_letters_for(target=target)
    publish(2, lane="r1")
    assert cancel_deliveries(Delivery.objects.all()) == 2
    assert Delivery.objects.filter(state=Delivery.State.CANCELLED).count() == 2
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.DEAD
    assert cancel_deliveries(Delivery.objects.all()) == 0


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_stuck_head_releases_its_ordered_group(fast, receiver):
    receiver.script("/hook", Reply(429, headers={"Retry-After": "60"}), Reply(200))
    make_rule_with_target(receiver.url("/hook"), ordered_by="detail.key")
    publish(2, key="k")
    head, follower = Delivery.objects.order_by("event_id")
    with running_dispatcher():
        wait_until(lambda: Delivery.objects.filter(pk=head.pk, state="retrying").exists(), message="a stuck head")
        assert cancel_deliveries([head.pk]) == 1
        wait_until(lambda: Delivery.objects.filter(pk=follower.pk, state="succeeded").exists(), message="follower")
    assert receiver.ids("/hook") == [head.webhook_id, follower.webhook_id]
    assert Delivery.objects.get(pk=head.pk).state == Delivery.State.CANCELLED
