"""Group commit on the publish fast path, and the multi-row INSERT that stores each group."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from dashboard.api.ingest import GroupCommit
from dashboard.bulk_insert import insert_rows
from dashboard.models import Delivery, Event, Rule, Target
from dashboard.publishing import publish_batches, publish_entries

from .test_publish_live import post


def entry(n: int, **extra) -> dict:
    return {"source": "shop", "detail-type": "OrderCreated", "detail": {"n": n}} | extra


@pytest.fixture
def single_writer():
    executor = ThreadPoolExecutor(max_workers=1)
    yield executor
    executor.shutdown()


@pytest.mark.django_db(transaction=True)
def test_requests_waiting_together_share_one_transaction(single_writer):
    async def three_requests():
        group_commit = GroupCommit(single_writer, writers=1)
        return await asyncio.gather(*(group_commit.publish([entry(n), entry(n + 10)]) for n in range(3)))

    answers = asyncio.run(three_requests())

    ids = [[result.event_id for result in answer] for answer in answers]
    assert all(len(request_ids) == 2 for request_ids in ids)
    stored = Event.objects.filter(event_id__in=sum(ids, []))
    assert stored.count() == 6
    assert stored.values("received_at").distinct().count() == 1  # one transaction stamps one receive time


@pytest.mark.django_db(transaction=True)
def test_a_request_arriving_during_a_write_goes_in_the_next_transaction(single_writer):
    gate = threading.Event()
    single_writer.submit(gate.wait)  # the only writer thread is busy until the gate opens

    async def first_then_two_more():
        group_commit = GroupCommit(single_writer, writers=1)
        first = asyncio.ensure_future(group_commit.publish([entry(1)]))
        await asyncio.sleep(0)  # the writer takes the first request alone, then waits for the thread
        later = [asyncio.ensure_future(group_commit.publish([entry(n)])) for n in (2, 3)]
        await asyncio.sleep(0)
        gate.set()
        return await first, await asyncio.gather(*later)

    first, later = asyncio.run(first_then_two_more())

    first_time = Event.objects.get(event_id=first[0].event_id).received_at
    later_times = set(Event.objects.filter(event_id__in=[a[0].event_id for a in later]).values_list("received_at"))
    assert len(later_times) == 1
    assert later_times != {(first_time,)}


@pytest.mark.django_db
def test_each_request_of_a_group_gets_its_own_answers_in_order():
    answers = publish_batches([[entry(1), {"source": "no detail-type"}], [{"detail-type": "no source"}], [entry(2)]])

    assert [[result.ok for result in answer] for answer in answers] == [[True, False], [False], [True]]
    assert "detail-type" in answers[0][1].error_message
    assert Event.objects.count() == 2


@pytest.mark.django_db
def test_the_same_id_in_two_requests_of_a_group_is_stored_once():
    answers = publish_batches([[entry(1, id="order-1")], [entry(2, id="order-1")]])

    assert answers[0][0].event_id == answers[1][0].event_id == "order-1"
    assert Event.objects.filter(event_id="order-1").count() == 1


@pytest.mark.django_db
def test_multi_row_insert_stores_what_the_orm_reads_back():
    detail = {"nested": {"list": [1, 2.5, None, True]}, "text": "ünï <b>", "big": 10**30}
    events = [
        Event(event_id=f"bulk-{n}", source="s", detail_type="t", detail=detail, time=Event().received_at)
        for n in range(3)
    ]

    insert_rows(events)

    assert [e.position for e in events] == sorted(e.position for e in events)
    stored = Event.objects.get(pk=events[1].position)
    assert stored.event_id == "bulk-1"
    assert stored.detail == detail
    assert stored.resources == []
    assert stored.time == events[1].time


@pytest.mark.django_db
def test_multi_row_insert_fills_foreign_keys_uuids_and_auto_now():
    rule = Rule.objects.create(name="r", event_pattern='{"source": ["s"]}')
    target = Target.objects.create(rule=rule, kind=Target.Kind.WEBHOOK, url="http://127.0.0.1:9/")
    [event] = publish_entries([entry(1)])
    delivery = Delivery(event=Event.objects.get(event_id=event.event_id), rule=rule, target=target)

    insert_rows([delivery])

    stored = Delivery.objects.get(pk=delivery.pk)
    assert (stored.event_id, stored.rule_id, stored.target_id) == (delivery.event_id, rule.pk, target.pk)
    assert stored.updated_at is not None
    assert stored.last_status_code is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce column lengths")
@pytest.mark.django_db
def test_multi_row_insert_refuses_an_over_long_value_instead_of_cutting_it():
    from django.db import DataError

    with pytest.raises(DataError):
        insert_rows([Event(event_id="x" * 65, source="s", detail_type="t", time=Event().received_at)])


@pytest.fixture
def account_too_long_for_its_column(subprocess_env):
    subprocess_env["EVENTHUB_ACCOUNT"] = "x" * 13  # the server's INSERTs fail in the database


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce column lengths")
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", {"source": "a", "detail-type": "b"}),
        ("/api/v1/streams/Order/o-1/events", {"events": [{"detail-type": "OrderCreated"}]}),
    ],
)
def test_a_write_the_store_refuses_answers_503_and_stores_nothing(
    account_too_long_for_its_column, live_daphne, bearer, path, body
):
    status, answer = post(live_daphne, bearer, json.dumps(body).encode(), path=path)

    assert status == 503
    assert answer["error"]["code"] == "ServiceUnavailable"
    assert Event.objects.count() == 0
