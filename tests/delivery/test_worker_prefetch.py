"""A worker's two limits: `concurrency` attempts in flight at once, `prefetch` deliveries in hand. Sent
deliveries wait for their batch to be recorded without holding a sending slot."""

import psycopg
import pytest
from django.db import connection

from dashboard.models import Delivery, DeliveryAttempt
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _all_succeeded(count: int) -> bool:
    return Delivery.objects.filter(state=Delivery.State.SUCCEEDED).count() == count


def test_a_worker_sends_at_most_its_concurrency_at_once(fast, receiver):
    receiver.script("/hook", *[Reply(200, delay=0.1)] * 12)
    make_rule_with_target(receiver.url("/hook"))
    publish(12)
    with running_dispatcher(concurrency=3, prefetch=12):
        wait_until(lambda: _all_succeeded(12), message="every delivery")
    assert receiver.max_in_flight["/hook"] == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="holds a table lock from a second connection")
def test_sent_deliveries_waiting_to_be_recorded_do_not_hold_sending_slots(fast, receiver):
    make_rule_with_target(receiver.url("/hook"))
    publish(10)
    with psycopg.connect(**connection.get_connection_params()) as blocker:
        # Recording inserts attempt rows: while this lock is held no outcome can be written.
        blocker.execute(f"LOCK TABLE {DeliveryAttempt._meta.db_table} IN EXCLUSIVE MODE")
        with running_dispatcher(concurrency=2, prefetch=6):
            wait_until(lambda: len(receiver.requests("/hook")) >= 6, message="six sends with two slots")
            assert DeliveryAttempt.objects.count() == 0
            blocker.rollback()
            wait_until(lambda: _all_succeeded(10), message="every delivery, once recording resumes")
    assert len(receiver.requests("/hook")) == 10
