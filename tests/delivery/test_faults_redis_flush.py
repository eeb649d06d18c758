"""Redis wiped mid-run (stream, consumer group, pending entries, delayed retries): the database is the
record, so the sweeper re-enqueues what Redis forgot and every delivery still completes.

FLUSHDB of the suite's own Redis database stands in for FLUSHALL, which would also wipe the databases
other test runs on the same server use; for EventHub's keys the effect is the same.
"""

import pytest

from dashboard.models import Delivery
from tests.delivery_harness import Reply, fast_env, ledger, make_rule_with_target, publish, start_worker, stop_worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
EVENTS = 400


def _all_succeeded() -> bool:
    return Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == EVENTS


def test_flush_of_redis_mid_run_loses_nothing(subprocess_env, receiver, redis, tmp_path, record_property):
    # Every 7th request fails once, so retries are waiting in the delayed set when Redis is wiped.
    receiver.script("/hook", *([Reply(200, delay=0.02)] * 6 + [Reply(503)]) * 20, Reply(200, delay=0.02))
    make_rule_with_target(receiver.url("/hook"))
    publish(EVENTS)
    workers = [start_worker(fast_env(subprocess_env), tmp_path, "--concurrency", "16") for _ in range(2)]
    try:
        wait_until(lambda: len(receiver.requests("/hook")) >= EVENTS // 4, message="the workers to get going")
        redis.flushdb()
        wait_until(_all_succeeded, timeout=45, message="every delivery to succeed after the flush")
    except AssertionError:
        raise AssertionError("".join(stop_worker(w) for w in workers)) from None
    for worker in workers:
        stop_worker(worker)
    check = ledger(receiver)
    record_property("ledger", check.report())
    print(check.report())
    assert check.lost == set() and check.unexpected == set(), check.report()
