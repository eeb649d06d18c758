"""A publisher that dies between commit and enqueue: the events are stored, Redis never heard of them,
and the sweeper finds them in the database (the transactional outbox), so they are delivered anyway."""

import subprocess
import sys

import pytest

from dashboard.delivery import transport
from dashboard.models import Delivery, Event
from tests.conftest import ROOT
from tests.delivery_harness import fast_env, ledger, make_rule_with_target, start_worker, stop_worker
from tests.waiting import wait_until

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]
BATCHES = 20

# Publishes batches of 10, and exits hard inside the after-commit hook of the last batch, before the
# XADD; every batch before it also skips Redis, as if each commit had been followed by a crash.
CRASHING_PUBLISHER = f"""
import os, django
django.setup()
from dashboard.delivery import transport
from dashboard.ingest.publishing import publish_entries
calls = []
def crash_instead_of_enqueue(ids):
    calls.append(ids)
    if len(calls) == {BATCHES}:
        os._exit(9)
transport.enqueue = crash_instead_of_enqueue
for batch in range({BATCHES}):
    entry = {{"source": "shop.orders", "detail-type": "OrderCreated", "detail": {{"batch": batch}}}}
    assert all(r.ok for r in publish_entries([entry] * 10))
"""


def test_crash_between_commit_and_enqueue_loses_nothing(subprocess_env, receiver, redis, tmp_path, record_property):
    make_rule_with_target(receiver.url("/hook"))
    env = fast_env(subprocess_env) | {"DJANGO_SETTINGS_MODULE": "eventhub.settings"}
    publisher = subprocess.run([sys.executable, "-c", CRASHING_PUBLISHER], cwd=ROOT, env=env, capture_output=True)
    assert publisher.returncode == 9, publisher.stderr.decode()[-3000:]
    assert Event.objects.count() == BATCHES * 10
    assert redis.exists(transport.stream_key()) == 0  # nothing reached Redis
    worker = start_worker(env, tmp_path)
    try:
        wait_until(
            lambda: Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == BATCHES * 10,
            timeout=30,
            message="the sweeper to deliver every stored event",
        )
    except AssertionError:
        raise AssertionError(stop_worker(worker)) from None
    stop_worker(worker)
    check = ledger(receiver)
    record_property("ledger", check.report())
    print(check.report())
    assert check.lost == set() and check.unexpected == set(), check.report()
