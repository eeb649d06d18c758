"""The worker's steps, each called on its own with real PostgreSQL (or SQLite) and Redis: intake (claim
what the stream carries), send, record, and maintenance (due retries, reclaim, sweep)."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from django.db import transaction
from django.utils import timezone

from dashboard.delivery import heartbeat, intake, leases, maintenance, recording
from dashboard.delivery.database import DatabaseThreads
from dashboard.delivery.sending import Sending
from dashboard.delivery.transport import GROUP, AsyncTransport, delayed_key, stream_key
from dashboard.delivery.webhook import WebhookSender
from dashboard.ingest.handover import hand_over_after_commit
from dashboard.models import Delivery, DeliveryAttempt, Target
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
State = Delivery.State
T = TypeVar("T")


def run(step: Callable[[DatabaseThreads, AsyncTransport], Awaitable[T]], consumer: str = "w1") -> T:
    """Run one step on a fresh event loop with its own database thread and Redis client, as a worker would."""

    async def main() -> T:
        db, transport = DatabaseThreads(1), AsyncTransport(consumer)
        try:
            await transport.ensure_group()
            return await step(db, transport)
        finally:
            await transport.close()
            await db.close()

    return asyncio.run(main())


async def read_and_claim(db: DatabaseThreads, transport: AsyncTransport) -> intake.Intake:
    return await intake.claim_entries(db, transport, await transport.read(count=100, block_ms=100))


async def send_all(db: DatabaseThreads, transport: AsyncTransport, work: list[intake.Work]) -> list:
    sending = Sending(db, transport, WebhookSender(), "w1")
    try:
        return [await sending.send(item) for item in work]
    finally:
        await sending.sender.close()


def pending_entries(redis) -> int:
    return redis.xpending(stream_key(), GROUP)["pending"]


def test_intake_claims_the_deliveries_the_stream_carries(fast):
    make_rule_with_target("http://127.0.0.1:9/hook")
    publish(3)
    claimed = run(read_and_claim)
    assert len(claimed.work) == 3 and not claimed.acknowledged
    assert {w.delivery.id for w in claimed.work} == set(Delivery.objects.values_list("id", flat=True))
    assert set(Delivery.objects.values_list("state", flat=True)) == {State.IN_FLIGHT}


def test_intake_acknowledges_entries_with_nothing_left_to_do(fast, redis):
    make_rule_with_target("http://127.0.0.1:9/hook")
    publish(1)
    Delivery.objects.update(state=State.SUCCEEDED)
    claimed = run(read_and_claim)
    assert (claimed.work, len(claimed.acknowledged)) == ([], 1)
    assert pending_entries(redis) == 0


def test_send_posts_a_claimed_delivery_and_says_what_happened(fast, receiver):
    make_rule_with_target(receiver.url())
    publish(1)

    async def step(db, transport):
        return await send_all(db, transport, (await read_and_claim(db, transport)).work)

    [finished] = run(step)
    assert finished.outcome.succeeded and finished.outcome.status_code == 200
    assert receiver.ids() == [Delivery.objects.get().webhook_id]
    assert Delivery.objects.get().state == State.IN_FLIGHT  # sending records nothing: that is the next step


def test_send_refuses_a_disabled_target_without_a_request(fast, receiver):
    target = make_rule_with_target(receiver.url())
    publish(1)

    async def step(db, transport):
        claimed = await read_and_claim(db, transport)
        claimed.work[0].delivery.target.enabled = False
        return await send_all(db, transport, claimed.work)

    [finished] = run(step)
    assert (finished.attempted, finished.outcome.dead_reason) == (False, Delivery.DeadReason.TARGET_DISABLED)
    assert receiver.requests() == [] and target.pk


def test_record_writes_the_outcome_then_acknowledges_the_entry(fast, receiver, redis):
    make_rule_with_target(receiver.url())
    publish(1)

    async def step(db, transport):
        claimed = await read_and_claim(db, transport)
        finished = await send_all(db, transport, claimed.work)
        assert pending_entries(redis) == 1  # sent, not yet recorded: still pending
        return await recording.record(
            db, transport, [(f, w.entry_ids) for f, w in zip(finished, claimed.work, strict=True)]
        )

    run(step)
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_status_code) == (State.SUCCEEDED, 200)
    assert DeliveryAttempt.objects.filter(delivery=delivery, succeeded=True).count() == 1
    assert pending_entries(redis) == 0


def test_record_schedules_a_failed_attempt_in_the_delayed_set(fast, receiver, redis):
    make_rule_with_target(receiver.url())
    receiver.script("/hook", Reply(503))
    publish(1)

    async def step(db, transport):
        claimed = await read_and_claim(db, transport)
        finished = await send_all(db, transport, claimed.work)
        return await recording.record(
            db, transport, [(f, w.entry_ids) for f, w in zip(finished, claimed.work, strict=True)]
        )

    recorded = run(step)
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_status_code) == (State.RETRYING, 503)
    assert recorded.retries == [(delivery.id, delivery.next_attempt_at)]
    assert redis.zrange(delayed_key(), 0, -1) == [str(delivery.id).encode()]


def test_move_due_retries_puts_only_due_retries_on_the_stream(fast, redis):
    now = timezone.now()
    redis.zadd(
        delayed_key(),
        {"due": (now - timedelta(seconds=1)).timestamp(), "later": (now + timedelta(hours=1)).timestamp()},
    )
    assert run(lambda db, transport: maintenance.move_due_retries(transport)) == 1
    assert [fields[b"d"] for _, fields in redis.xrange(stream_key())] == [b"due"]
    assert redis.zrange(delayed_key(), 0, -1) == [b"later"]


def test_reclaim_takes_over_entries_another_consumer_left_unacknowledged(fast, settings):
    make_rule_with_target("http://127.0.0.1:9/hook")
    publish(2)
    run(lambda db, transport: transport.read(count=10, block_ms=100), consumer="died")
    settings.EVENTHUB = {**settings.EVENTHUB, "VISIBILITY_TIMEOUT_SECONDS": 0.0}
    entries = run(lambda db, transport: maintenance.reclaim_abandoned(transport, 10), consumer="alive")
    assert len(entries) == 2


def test_sweep_enqueues_unfinished_deliveries_redis_lost(fast, redis):
    make_rule_with_target("http://127.0.0.1:9/hook")
    publish(2)
    redis.flushdb()
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=1))
    assert run(maintenance.sweep) == 2
    assert {f[b"d"].decode() for _, f in redis.xrange(stream_key())} == {
        str(i) for i in Delivery.objects.values_list("id", flat=True)
    }


def test_poison_event_honours_the_targets_dead_letter_setting(fast):
    """Regression: the poison path dead-lettered (listed in the DLQ) even when the target turned that off."""
    make_rule_with_target("http://127.0.0.1:9/hook", dead_letter_enabled=False)
    publish(1)
    Delivery.objects.update(
        state=State.IN_FLIGHT, attempts=3, worker_losses=2, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    delivery, poison = leases.take_over(Delivery.objects.get().id, "t2", "w2")
    assert poison
    assert (delivery.state, delivery.dead_reason, delivery.dead_lettered) == (State.DEAD, "worker_lost", False)


def test_poison_event_is_a_dead_letter_when_the_target_keeps_them(fast):
    make_rule_with_target("http://127.0.0.1:9/hook", dead_letter_enabled=True)
    publish(1)
    Delivery.objects.update(
        state=State.IN_FLIGHT, attempts=3, worker_losses=2, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    delivery, _ = leases.take_over(Delivery.objects.get().id, "t2", "w2")
    assert (delivery.state, delivery.dead_lettered) == (State.DEAD, True)


def test_hand_over_after_commit_waits_for_the_commit(fast, redis):
    target = make_rule_with_target("http://127.0.0.1:9/hook")
    publish(1)
    delivery = Delivery.objects.get(target=target)
    redis.flushdb()
    with transaction.atomic():
        hand_over_after_commit([delivery.id])
        assert redis.xlen(stream_key()) == 0
    assert [f[b"d"].decode() for _, f in redis.xrange(stream_key())] == [str(delivery.id)]


def test_hand_over_after_a_rollback_hands_over_nothing(fast, redis):
    with pytest.raises(RuntimeError), transaction.atomic():
        hand_over_after_commit(["0190b5a8-0000-7000-8000-000000000000"])
        raise RuntimeError("rolled back")
    assert redis.xlen(stream_key()) == 0
    assert Target.objects.count() == 0


def test_a_running_worker_says_it_is_up_and_signs_off_when_it_stops(fast, redis):
    with running_dispatcher():
        wait_until(lambda: redis.zcard(heartbeat.workers_key()) == 1, message="the worker's heartbeat")
    assert redis.zcard(heartbeat.workers_key()) == 0
