"""Group commit on the publish fast path, and the multi-row INSERT that stores each group."""

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import IntegrityError, connection

from dashboard.ingest import publishing
from dashboard.ingest.bulk_insert import insert_rows
from dashboard.ingest.group_commit import GroupCommit
from dashboard.ingest.publishing import publish_batches, publish_entries
from dashboard.models import Delivery, Event, Rule, Target
from tests.ingest.test_publish_live import post


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


# -- one request's bad input never changes another's answer -------------------------------------------


def nested(depth: int) -> list:
    """An array nesting `depth` levels, built without recursion."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_entry(depth: int) -> dict:
    """An entry nesting `depth` levels in all: the entry, its detail, then arrays."""
    return {"source": "deep", "detail-type": "Deep", "detail": {"x": nested(depth - 2)}}


# orjson parses up to 1,024 levels but serialises only up to 254: in between, a size check that serialised
# the entry before checking its depth raised TypeError, and the whole request (and group) failed.
@pytest.mark.parametrize("depth", [255, 500, 1024])
@pytest.mark.django_db
def test_an_entry_nested_past_what_orjson_serialises_is_an_entry_error(depth):
    [answer] = publish_batches([[deep_entry(depth), entry(1)]])

    assert [result.ok for result in answer] == [False, True]
    assert answer[0].error_code == "InvalidArgument"
    assert "nests deeper than 64 levels" in answer[0].error_message
    assert Event.objects.get().detail == {"n": 1}


@pytest.fixture
def store_refuses_poison(transactional_db):
    """The database itself refuses events with source "poison", as it would a row breaking a constraint."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE dashboard_event ADD CONSTRAINT test_no_poison CHECK (source <> 'poison') NOT VALID"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_no_poison BEFORE INSERT ON dashboard_event WHEN NEW.source = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'poison'); END"
            )
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE dashboard_event DROP CONSTRAINT test_no_poison")
        else:
            cursor.execute("DROP TRIGGER test_no_poison")


def publish_as_one_group(executor: ThreadPoolExecutor, requests: list[list[dict]]) -> list:
    """Publish requests through one GroupCommit, all waiting while its only writer thread is busy, so they
    share a transaction; each answer is the request's results or the exception it heard."""
    gate = threading.Event()
    executor.submit(gate.wait)

    async def together():
        group_commit = GroupCommit(executor, writers=1)
        answers = [asyncio.ensure_future(group_commit.publish(entries)) for entries in requests]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*answers, return_exceptions=True)

    return asyncio.run(together())


def test_a_request_whose_rows_the_store_refuses_fails_alone(store_refuses_poison, single_writer):
    requests = [[entry(n)] for n in range(5)]
    requests.insert(3, [{"source": "poison", "detail-type": "Bad"}])

    answers = publish_as_one_group(single_writer, requests)

    assert isinstance(answers[3], IntegrityError)
    good = [answer for n, answer in enumerate(answers) if n != 3]
    assert all(result.ok for answer in good for result in answer)
    assert sorted(Event.objects.values_list("detail__n", flat=True)) == [0, 1, 2, 3, 4]


def test_a_hand_off_failing_after_commit_neither_fails_nor_repeats_the_group(
    transactional_db, single_writer, monkeypatch
):
    def hand_off_bug(events, deliveries):
        raise RuntimeError("a bug after commit")

    monkeypatch.setattr(publishing, "_after_commit", hand_off_bug)

    answers = publish_as_one_group(single_writer, [[entry(n)] for n in range(3)])

    assert [[result.ok for result in answer] for answer in answers] == [[True]] * 3
    assert sorted(Event.objects.values_list("detail__n", flat=True)) == [0, 1, 2]


def test_producers_sharing_group_commits_with_bad_bodies_all_get_their_200(live_daphne, bearer):
    deep = json.dumps(deep_entry(500)).encode()
    statuses: dict[str, list[int]] = {"bad": [], "good": []}

    def producer(kind: str, n: int) -> None:
        for k in range(20):
            body = deep if kind == "bad" else json.dumps(entry(100 * n + k)).encode()
            statuses[kind].append(post(live_daphne, bearer, body)[0])

    threads = [threading.Thread(target=producer, args=("bad", n)) for n in range(3)]
    threads += [threading.Thread(target=producer, args=("good", n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses["good"] == [200] * 160
    assert statuses["bad"] == [400] * 60
    assert Event.objects.count() == 160
