"""A poison event (its handler kills the worker process) gets at most three tries, then it is dead-lettered
as worker_lost; the events that were in flight beside it are delivered, not blamed."""

import os
from pathlib import Path

import pytest

from dashboard.delivery.handler_registry import eventhub_handler
from dashboard.ingest.publishing import publish_entries
from dashboard.models import Delivery, DeliveryAttempt, Target
from tests.delivery_harness import fast_env, make_rule_with_target, start_worker, stop_worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
NORMAL = 30


@eventhub_handler
def handle_order(event: dict) -> None:
    """The python target under test: records every call; an event marked poison kills the process."""
    with open(os.environ["EVENTHUB_TEST_HANDLER_LOG"], "a") as log:
        log.write(f"{event['detail']['n']}\n")
    if event["detail"].get("poison"):
        os._exit(9)


def test_poison_event_is_tried_three_times_then_dead_lettered(subprocess_env, tmp_path):
    calls = tmp_path / "calls.log"
    make_rule_with_target(kind=Target.Kind.PYTHON, handler="tests.delivery.test_faults_poison.handle_order")
    entries = [{"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"n": n}} for n in range(NORMAL)]
    entries.insert(
        NORMAL // 2, {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"n": -1, "poison": True}}
    )
    for start in range(0, len(entries), 10):
        publish_entries(entries[start : start + 10])
    env = fast_env(subprocess_env) | {"EVENTHUB_TEST_HANDLER_LOG": str(calls), "EVENTHUB_HANDLERS": __name__}
    worker, restarts, logs = start_worker(env, tmp_path, "--concurrency", "8"), 0, ""

    def finished() -> bool:
        nonlocal worker, restarts, logs
        if worker.poll() is not None:  # the poison killed it: restart, as a supervisor would
            logs += stop_worker(worker)
            worker, restarts = start_worker(env, tmp_path, "--concurrency", "8"), restarts + 1
        return not Delivery.objects.filter(state__in=Delivery.ACTIVE_STATES).exists()

    try:
        wait_until(finished, timeout=50, message="every delivery to finish")
    except AssertionError:
        raise AssertionError(logs + stop_worker(worker)) from None
    stop_worker(worker)
    poison = Delivery.objects.get(event__detail__poison=True)
    handled = Path(calls).read_text().split()
    assert (poison.state, poison.dead_reason, poison.worker_losses) == ("dead", "worker_lost", 3)
    assert handled.count("-1") == 3 and restarts == 3
    assert Delivery.objects.filter(state="succeeded").count() == NORMAL
    assert DeliveryAttempt.objects.filter(delivery=poison).count() == 3  # each lost try is in the history
    assert not Delivery.objects.exclude(pk=poison.pk).filter(dead_reason="worker_lost").exists()
