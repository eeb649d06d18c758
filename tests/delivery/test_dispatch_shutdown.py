"""SIGTERM: the worker stops taking work, finishes and records what is in flight, and exits; nothing is
lost and, unlike a kill -9, nothing is delivered twice."""

import signal
import time

import pytest

from dashboard.models import Delivery
from tests.delivery_harness import Reply, fast_env, ledger, make_rule_with_target, publish, start_worker, stop_worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
EVENTS = 60


def test_sigterm_finishes_in_flight_deliveries_then_exits(subprocess_env, receiver, tmp_path):
    receiver.script("/hook", Reply(200, delay=0.5))
    make_rule_with_target(receiver.url("/hook"))
    publish(EVENTS)
    env = fast_env(subprocess_env)
    worker = start_worker(env, tmp_path, "--concurrency", "8")
    wait_until(lambda: len(receiver.requests("/hook")) >= 8, message="a full batch in flight")
    worker.send_signal(signal.SIGTERM)
    began = time.monotonic()
    assert worker.wait(timeout=15) == 0, stop_worker(worker)
    assert time.monotonic() - began < 5
    stop_worker(worker)
    assert not Delivery.objects.filter(state=Delivery.State.IN_FLIGHT).exists()
    assert Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == len(receiver.requests("/hook"))

    successor = start_worker(env, tmp_path, "--concurrency", "32")
    try:
        wait_until(lambda: Delivery.objects.filter(state="succeeded").count() == EVENTS, message="the rest")
    finally:
        stop_worker(successor)
    check = ledger(receiver)
    assert check.lost == set() and check.duplicates == 0, check.report()
