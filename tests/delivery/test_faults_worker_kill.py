"""kill -9 of a worker mid-batch: every accepted event still reaches its target, duplicates are counted."""

import pytest

from dashboard.models import Delivery, DeliveryAttempt
from tests.delivery_harness import Reply, fast_env, ledger, make_rule_with_target, publish, start_worker, stop_worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
EVENTS = 400


def _all_succeeded() -> bool:
    return Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == EVENTS


def test_kill_9_of_a_worker_mid_batch_loses_nothing(subprocess_env, receiver, tmp_path, record_property):
    receiver.script("/hook", Reply(200, delay=0.05))
    make_rule_with_target(receiver.url("/hook"))
    publish(EVENTS)
    env = fast_env(subprocess_env)
    victim = start_worker(env, tmp_path, "--concurrency", "32", "--prefetch", "32", "--name", "victim")
    survivor = start_worker(env, tmp_path, "--concurrency", "32", "--name", "survivor")
    logs = ""
    try:
        wait_until(
            lambda: DeliveryAttempt.objects.filter(worker="victim").count() >= EVENTS // 8,
            message="the victim to be busy delivering",
        )
        logs += stop_worker(victim, kill=True)
        wait_until(_all_succeeded, timeout=45, message="every delivery to succeed after the kill")
    except AssertionError:
        logs += stop_worker(victim, kill=True) + stop_worker(survivor)
        raise AssertionError(logs) from None
    stop_worker(survivor)
    check = ledger(receiver)
    record_property("ledger", check.report())
    print(check.report())
    assert check.lost == set() and check.unexpected == set(), check.report()
    assert check.duplicates <= 32, check.report()  # at most what the killed worker held: its prefetch
    assert not Delivery.objects.filter(state__in=Delivery.ACTIVE_STATES).exists()
