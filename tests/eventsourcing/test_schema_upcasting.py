"""Upcasting: an old stored stream event is read in the current shape through a chain of upcasters."""

import pytest

from dashboard.eventsourcing.aggregate import Aggregate, on
from dashboard.eventsourcing.projections import Projection
from dashboard.eventsourcing.streams import StreamName, append, read
from dashboard.eventsourcing.upcasting import (
    UpcasterConflict,
    as_current,
    current_detail,
    current_events,
    unregister,
    upcast,
    upcaster,
)
from dashboard.ingest.publishing import EventDraft
from dashboard.models import Event
from dashboard.schemas.registry import Kind, configure, register_version
from tests.dashboard_support import make_viewer

pytestmark = pytest.mark.django_db

KIND = Kind("default", "TestOrder", "OrderPlaced")


@pytest.fixture
def two_upcasters():
    @upcaster("TestOrder", "OrderPlaced", from_version=1)
    def split_name(detail: dict) -> dict:
        first, _, last = detail.pop("name").partition(" ")
        return {**detail, "first_name": first, "last_name": last}

    @upcaster("TestOrder", "OrderPlaced", from_version=2)
    def cents(detail: dict) -> dict:
        total = detail.pop("total")
        return {**detail, "total_cents": round(total * 100)}

    yield
    unregister("TestOrder", "OrderPlaced", 1)
    unregister("TestOrder", "OrderPlaced", 2)


V1 = {"name": "Ada L", "total": 1.5}
V3 = {"first_name": "Ada", "last_name": "L", "total_cents": 150}


class UpcastOrder(Aggregate):
    aggregate_type = "TestOrder"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.placed: dict = {}

    @on("OrderPlaced")
    def placed_(self, event: Event) -> None:
        self.placed = event.detail


class PlacedOrders(Projection):
    name = "test_placed_orders"

    def __init__(self, generation: int) -> None:
        super().__init__(generation)
        self.seen: list[dict] = []

    @on("OrderPlaced")
    def placed(self, event: Event) -> None:
        self.seen.append(event.detail)


@pytest.fixture
def v1_event(two_upcasters) -> Event:
    """An OrderPlaced stored under v1 of its schema, which has reached v3 since."""
    configure(KIND, compatibility="NONE")
    register_version(KIND, {"type": "object", "required": ["name", "total"]})
    append(StreamName("TestOrder", "o-1"), [EventDraft(source="TestOrder", detail_type="OrderPlaced", detail=V1)])
    register_version(KIND, {"type": "object", "required": ["first_name", "last_name", "total"]})
    register_version(KIND, {"type": "object", "required": ["first_name", "last_name", "total_cents"]})
    return Event.objects.get(aggregate_type="TestOrder", aggregate_id="o-1")


def test_a_v1_event_is_read_as_v3_through_two_upcasters(v1_event):
    assert current_detail(v1_event) == V3
    [read_back] = read(StreamName("TestOrder", "o-1"))
    assert read_back.detail == V3


def test_reading_never_changes_the_stored_event(v1_event):
    assert as_current(v1_event).detail == V3
    assert v1_event.detail == V1
    assert Event.objects.get(pk=v1_event.pk).detail == V1


def test_an_upcast_event_is_never_upcast_again(v1_event):
    assert as_current(as_current(v1_event)).detail == V3


def test_a_batch_asks_the_registry_once_per_kind(v1_event, django_assert_num_queries):
    stored = [Event.objects.get(pk=v1_event.pk) for _ in range(5)]
    with django_assert_num_queries(1):
        assert [event.detail for event in current_events(stored)] == [V3] * 5


def test_an_aggregate_folds_the_v1_event_as_v3(v1_event):
    assert UpcastOrder.load("o-1").placed == V3


def test_a_projection_handles_the_v1_event_as_v3(v1_event):
    writer = PlacedOrders(generation=1)
    writer.apply(Event.objects.get(pk=v1_event.pk))
    assert writer.seen == [V3]


def test_the_stream_api_answers_the_v1_event_as_v3(v1_event, client, auth_header):
    response = client.get("/api/v1/streams/TestOrder/o-1", **auth_header)
    assert [event["detail"] for event in response.json()["events"]] == [V3]
    response = client.get("/api/v1/streams/$all", {"aggregate-type": "TestOrder"}, **auth_header)
    assert [event["detail"] for event in response.json()["events"]] == [V3]


def test_the_stream_page_shows_the_v1_event_as_v3(v1_event, client):
    client.force_login(make_viewer())
    html = client.get("/streams/TestOrder/o-1/").content.decode()
    assert "total_cents" in html and "&quot;total&quot;" not in html


def test_an_event_type_without_upcasters_is_read_as_stored_without_a_query(django_assert_num_queries):
    event = Event(aggregate_type="TestOrder", aggregate_id="o-2", detail_type="OrderShipped", detail={"a": 1})
    with django_assert_num_queries(0):
        assert as_current(event) is event


def test_an_event_stored_under_the_current_version_is_not_upcast(two_upcasters):
    assert upcast("TestOrder", "OrderPlaced", 3, {"total_cents": 1}) == (3, {"total_cents": 1})


def test_the_stored_detail_is_never_changed(two_upcasters):
    detail = {"name": "Ada L", "total": 2}
    upcast("TestOrder", "OrderPlaced", 1, detail)
    assert detail == {"name": "Ada L", "total": 2}


def test_two_upcasters_for_one_step_are_refused(two_upcasters):
    with pytest.raises(UpcasterConflict):
        upcaster("TestOrder", "OrderPlaced", from_version=1)(lambda detail: detail)
