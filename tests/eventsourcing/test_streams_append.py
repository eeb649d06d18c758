"""Appending to a stream with an expected version, in process (the HTTP API is tested separately)."""

import pytest

from dashboard.delivery.planning import routing_cache
from dashboard.eventsourcing.streams import (
    ANY,
    EXISTS,
    NO_STREAM,
    DuplicateEventIds,
    InvalidStream,
    StreamName,
    WrongExpectedVersion,
    append,
    read,
    stream_version,
)
from dashboard.ingest.publishing import EventDraft
from dashboard.models import Delivery, Event, Rule, Target

pytestmark = pytest.mark.django_db

ORDER = StreamName("Order", "o-1")


def draft(kind: str = "OrderCreated", **fields) -> EventDraft:
    return EventDraft(source="shop.orders", detail_type=kind, detail=fields.pop("detail", {"n": 1}), **fields)


def test_first_append_with_no_stream_starts_at_version_one():
    result = append(ORDER, [draft(), draft("OrderShipped")], expected_version=NO_STREAM)
    assert (result.first_version, result.last_version) == (1, 2)
    assert [e.version for e in read(ORDER)] == [1, 2]


def test_exact_expected_version_appends_after_it():
    append(ORDER, [draft()], expected_version=NO_STREAM)
    assert append(ORDER, [draft("OrderShipped")], expected_version=1).last_version == 2


def test_wrong_exact_version_answers_the_current_version_and_stores_nothing():
    append(ORDER, [draft(), draft()], expected_version=ANY)
    with pytest.raises(WrongExpectedVersion) as conflict:
        append(ORDER, [draft(), draft()], expected_version=1)
    assert conflict.value.current == 2
    assert Event.objects.count() == 2


def test_no_stream_refuses_an_existing_stream():
    append(ORDER, [draft()])
    with pytest.raises(WrongExpectedVersion):
        append(ORDER, [draft()], expected_version=NO_STREAM)


def test_exists_refuses_an_empty_stream_and_accepts_an_existing_one():
    with pytest.raises(WrongExpectedVersion) as conflict:
        append(ORDER, [draft()], expected_version=EXISTS)
    assert conflict.value.current == 0
    append(ORDER, [draft()])
    assert append(ORDER, [draft()], expected_version=EXISTS).last_version == 2


def test_version_zero_means_no_stream():
    assert append(ORDER, [draft()], expected_version=0).last_version == 1
    with pytest.raises(WrongExpectedVersion):
        append(ORDER, [draft()], expected_version=0)


def test_streams_are_independent():
    append(ORDER, [draft()])
    other = StreamName("Order", "o-2")
    assert append(other, [draft()], expected_version=NO_STREAM).last_version == 1
    assert stream_version(ORDER) == 1


def test_read_from_version_returns_the_rest_in_order():
    append(ORDER, [draft(detail={"n": n}) for n in range(5)])
    assert [e.detail["n"] for e in read(ORDER, from_version=3)] == [2, 3, 4]


def test_retrying_an_append_with_the_same_ids_stores_it_once():
    events = [draft(event_id="e-1"), draft("OrderShipped", event_id="e-2")]
    first = append(ORDER, events, expected_version=NO_STREAM)
    again = append(ORDER, events, expected_version=NO_STREAM)
    assert again == first
    assert Event.objects.count() == 2


def test_an_id_stored_elsewhere_is_refused():
    append(StreamName("Order", "o-9"), [draft(event_id="taken")])
    with pytest.raises(DuplicateEventIds):
        append(ORDER, [draft(event_id="taken"), draft()])
    assert stream_version(ORDER) == 0


def test_one_append_shares_a_correlation_id_started_by_its_first_event():
    result = append(ORDER, [draft(), draft()])
    correlations = {e.correlation_id for e in read(ORDER)}
    assert correlations == {result.event_ids[0]}


def test_supplied_correlation_and_causation_are_kept():
    append(ORDER, [draft(correlation_id="c-1", causation_id="cause-1")])
    event = read(ORDER)[0]
    assert (event.correlation_id, event.causation_id) == ("c-1", "cause-1")


def test_appended_events_are_routed_like_any_other_event():
    rule = Rule.objects.create(name="orders", event_pattern='{"detail-type": ["OrderCreated"]}')
    target = Target.objects.create(rule=rule, name="hook", url="http://127.0.0.1:9/hook")
    routing_cache.invalidate()
    result = append(ORDER, [draft(), draft("OrderShipped")])
    delivery = Delivery.objects.get()
    assert (delivery.event.event_id, delivery.target_id) == (result.event_ids[0], target.pk)


@pytest.mark.parametrize("value", ["sometimes", -1, 1.5, True, None])
def test_bad_expected_versions_are_refused(value):
    with pytest.raises(InvalidStream):
        append(ORDER, [draft()], expected_version=value)


@pytest.mark.parametrize(("kind", "ident"), [("", "x"), ("$all", "x"), ("Order", ""), ("Order", "a/b")])
def test_bad_stream_names_are_refused(kind, ident):
    with pytest.raises(InvalidStream):
        StreamName(kind, ident)
