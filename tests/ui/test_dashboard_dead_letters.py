"""The dead-letter page and its actions: who may redrive and purge, and what each action does."""

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.models import Delivery
from dashboard.ui import triage
from tests.dashboard_support import make_dead_letters, make_operator, make_rule, make_target, make_viewer

pytestmark = pytest.mark.django_db

REDRIVE = reverse("dashboard:dlq-redrive")
PURGE = reverse("dashboard:dlq-purge")
DRY_RUN = reverse("dashboard:dlq-dry-run")


def signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def operator_client() -> Client:
    return signed_in(make_operator())


@pytest.fixture
def viewer_client() -> Client:
    return signed_in(make_viewer())


def post(client: Client, url: str, **data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_operator_sees_redrive_and_purge_buttons(operator_client):
    make_dead_letters(2)
    content = operator_client.get(reverse("dashboard:dead-letters")).content
    assert content.count(b"data-redrive=") == 2 and b"Purge all matching" in content


def test_viewer_sees_the_list_without_buttons(viewer_client):
    [dead] = make_dead_letters(1)
    content = viewer_client.get(reverse("dashboard:dead-letters")).content
    assert f'id="dl-{dead.id}"'.encode() in content
    assert b"data-redrive=" not in content and b"Purge" not in content and b'name="selected"' not in content


@pytest.mark.parametrize("url", [REDRIVE, PURGE])
def test_viewer_may_not_change_dead_letters(viewer_client, url):
    [dead] = make_dead_letters(1)
    response = post(viewer_client, url, scope="ids", selected=str(dead.id), confirmed="1")
    assert response.status_code == 403
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.DEAD


@pytest.mark.parametrize("url", [REDRIVE, PURGE])
def test_anonymous_post_is_sent_to_log_in(client, url):
    [dead] = make_dead_letters(1)
    response = client.post(url, {"scope": "ids", "selected": str(dead.id), "confirmed": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.DEAD


@pytest.mark.parametrize("url", [REDRIVE, PURGE])
def test_get_is_not_allowed(operator_client, url):
    assert operator_client.get(url).status_code == 405


@pytest.mark.parametrize("url", [REDRIVE, PURGE])
def test_post_without_csrf_token_is_refused(url):
    [dead] = make_dead_letters(1)
    client = signed_in(make_operator(), csrf=True)
    response = client.post(url, {"scope": "ids", "selected": str(dead.id), "confirmed": "1"})
    assert response.status_code == 403
    assert Delivery.objects.get(pk=dead.pk).state == Delivery.State.DEAD


def test_redrive_of_one_sends_it_again_and_shows_progress(operator_client):
    [dead] = make_dead_letters(1)
    response = post(operator_client, REDRIVE, scope="ids", selected=str(dead.id))
    assert b'id="dlq-progress"' in response.content and b"1 redriven" in response.content
    dead.refresh_from_db()
    assert dead.state == Delivery.State.PENDING and dead.redriven_by.username == "operator"


def test_redrive_twice_finds_nothing_the_second_time(operator_client):
    [dead] = make_dead_letters(1)
    post(operator_client, REDRIVE, scope="ids", selected=str(dead.id))
    response = post(operator_client, REDRIVE, scope="ids", selected=str(dead.id))
    assert b"Nothing to redrive" in response.content
    assert Delivery.objects.get(pk=dead.pk).redrive_count == 1


def test_big_redrive_asks_first_with_the_count_and_the_dry_run(operator_client):
    make_dead_letters(triage.CONFIRM_ABOVE + 1)
    response = post(operator_client, REDRIVE, scope="filter")
    content = response.content.decode()
    assert f"Redrive {triage.CONFIRM_ABOVE + 1} dead letters?" in content
    assert 'data-bucket="will_be_delivered"' in content and 'name="confirmed" value="1"' in content
    assert Delivery.objects.filter(state=Delivery.State.DEAD).count() == triage.CONFIRM_ABOVE + 1


def test_confirmed_big_redrive_sends_them_all(operator_client):
    make_dead_letters(triage.CONFIRM_ABOVE + 1)
    post(operator_client, REDRIVE, scope="filter", confirmed="1")
    assert not Delivery.objects.filter(state=Delivery.State.DEAD).exists()


def test_group_redrive_leaves_other_groups_alone(operator_client):
    rule = make_rule()
    refused = make_target(rule=rule, name="refused")
    failing = make_target(rule=rule, name="failing")
    make_dead_letters(2, target=refused, status=None)
    make_dead_letters(2, target=failing, status=503)
    group = next(g for g in triage.groups(triage.TriageFilter().queryset()) if g.target_id == failing.pk)
    post(operator_client, REDRIVE, scope="group", group=group.key)
    assert Delivery.objects.filter(target=failing, state=Delivery.State.DEAD).count() == 0
    assert Delivery.objects.filter(target=refused, state=Delivery.State.DEAD).count() == 2


def test_redrive_all_matching_respects_the_filter(operator_client):
    rule = make_rule()
    one, other = make_target(rule=rule, name="one"), make_target(rule=rule, name="other")
    make_dead_letters(1, target=one)
    make_dead_letters(1, target=other)
    post(operator_client, REDRIVE, scope="filter", target=str(one.pk))
    assert not Delivery.objects.filter(target=one, state=Delivery.State.DEAD).exists()
    assert Delivery.objects.filter(target=other, state=Delivery.State.DEAD).count() == 1


def test_selection_never_reaches_a_delivery_that_is_not_dead(operator_client):
    [dead] = make_dead_letters(1)
    Delivery.objects.filter(pk=dead.pk).update(state=Delivery.State.SUCCEEDED)
    response = post(operator_client, PURGE, scope="ids", selected=str(dead.id), confirmed="1")
    assert b"Nothing to purge" in response.content
    assert Delivery.objects.filter(pk=dead.pk).exists()


def test_purge_always_asks_first(operator_client):
    [dead] = make_dead_letters(1)
    response = post(operator_client, PURGE, scope="ids", selected=str(dead.id))
    assert b"Purge 1 dead letter?" in response.content
    assert Delivery.objects.filter(pk=dead.pk).exists()


def test_confirmed_purge_deletes(operator_client):
    [dead] = make_dead_letters(1)
    response = post(operator_client, PURGE, scope="ids", selected=str(dead.id), confirmed="1")
    assert b"Purged 1 dead letter." in response.content
    assert not Delivery.objects.filter(pk=dead.pk).exists()


def test_dry_run_changes_nothing_and_shows_buckets(viewer_client):
    make_dead_letters(3)  # each with a failed last attempt, so the target looks like it is still failing
    response = post(viewer_client, DRY_RUN, scope="filter")
    assert b"Dry run: 3 dead letters" in response.content
    assert b'data-bucket="target_still_failing">3<' in response.content
    assert Delivery.objects.filter(state=Delivery.State.DEAD).count() == 3


def test_progress_of_an_unknown_redrive_says_so(operator_client):
    response = operator_client.get(reverse("dashboard:dlq-progress", args=["nope"]))
    assert b"no longer tracked" in response.content


def test_groups_count_by_target_reason_and_status():
    rule = make_rule()
    target = make_target(rule=rule, name="hook")
    make_dead_letters(2, target=target, status=503)
    make_dead_letters(1, target=target, status=None)
    groups = triage.groups(triage.TriageFilter().queryset())
    assert {(g.status_code, g.count) for g in groups} == {(None, 1), (503, 2)}
