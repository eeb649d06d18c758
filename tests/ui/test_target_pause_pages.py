"""Pausing a target, seen and done from the dashboard: the overview and the target's page show a paused
target as such (why, since when, the next probe), and operators pause and resume it by hand, asked first
and audited."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.delivery.pausing import WAITING, pause_target, resume_target
from dashboard.models import Delivery, Target
from dashboard.models.audit import AuditEntry
from tests.dashboard_support import make_operator, make_rule, make_target, make_viewer, order, publish

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator() -> Client:
    return signed_in(make_operator())


@pytest.fixture
def target() -> Target:
    return make_target(rule=make_rule(name="orders"), name="warehouse")


def fresh(target: Target) -> Target:
    target.refresh_from_db()
    return target


def test_viewers_may_neither_open_nor_post_pause_or_resume(target):
    viewer = signed_in(make_viewer())
    pause_url = reverse("dashboard:target-pause", args=[target.pk])
    assert viewer.get(pause_url).status_code == 403 and viewer.post(pause_url).status_code == 403
    pause_target(target.pk, "20 of 20 attempts failed")
    resume_url = reverse("dashboard:target-resume", args=[target.pk])
    assert viewer.get(resume_url).status_code == 403 and viewer.post(resume_url).status_code == 403
    assert fresh(target).is_paused and not AuditEntry.objects.exists()


def test_pausing_is_asked_first_then_done_and_audited(operator, target):
    url = reverse("dashboard:target-pause", args=[target.pk])
    page = operator.get(url)
    assert page.status_code == 200 and "Pause target warehouse?" in page.content.decode()
    assert not fresh(target).is_paused

    response = operator.post(url)
    assert response["Location"] == reverse("dashboard:target-detail", args=[target.pk])
    assert (fresh(target).is_paused, target.paused_reason) == (True, "paused by operator")
    [entry] = AuditEntry.objects.all()
    assert (entry.actor, entry.action, entry.subject) == ("operator", "target_pause", "target default/orders/warehouse")


def test_resuming_is_asked_first_with_why_it_was_paused_then_releases_what_waited(operator, target):
    pause_target(target.pk, "20 of 20 attempts failed")
    publish(order())
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.update(state=Delivery.State.RETRYING, next_attempt_at=later, last_error=WAITING)
    url = reverse("dashboard:target-resume", args=[target.pk])
    assert "It was paused: 20 of 20 attempts failed." in operator.get(url).content.decode()

    operator.post(url)
    assert (fresh(target).is_paused, target.resumed_reason) == (False, "resumed by operator")
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.count, entry.detail) == (
        "target_resume",
        1,
        {"was_paused_because": "20 of 20 attempts failed"},
    )
    assert Delivery.objects.get().next_attempt_at < later


def test_asking_for_what_is_already_so_changes_nothing_and_is_not_audited(operator, target):
    assert operator.post(reverse("dashboard:target-resume", args=[target.pk])).status_code == 302
    pause_target(target.pk, "by the worker")
    operator.post(reverse("dashboard:target-pause", args=[target.pk]))
    assert fresh(target).paused_reason == "by the worker" and not AuditEntry.objects.exists()
    # The confirmation page is skipped too: the target's page says how it is.
    assert operator.get(reverse("dashboard:target-pause", args=[target.pk])).status_code == 302


def test_the_target_page_shows_why_and_since_when_it_is_paused_and_the_next_probe(operator, target):
    pause_target(target.pk, "20 of 20 attempts failed in the last 300 s")
    page = operator.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    assert 'data-paused="true"' in page and "20 of 20 attempts failed in the last 300 s" in page
    assert "Next probe at" in page and "0 probes failed so far" in page
    assert reverse("dashboard:target-resume", args=[target.pk]) in page
    assert reverse("dashboard:target-pause", args=[target.pk]) not in page


def test_the_target_page_shows_when_and_why_it_was_last_resumed(operator, target):
    pause_target(target.pk, "failing")
    resume_target(target.pk, "probe delivery msg_1 succeeded")
    page = operator.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    assert 'data-paused="false"' in page and "last resumed" in page and "probe delivery msg_1 succeeded" in page
    assert reverse("dashboard:target-pause", args=[target.pk]) in page


def test_the_pause_state_on_the_target_page_updates_itself(operator, target):
    page = operator.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    assert 'id="target-pause"' in page and 'hx-select="#target-pause"' in page and 'hx-trigger="every 2s"' in page


def test_the_overview_shows_a_paused_target_as_paused_with_the_reason(operator, target):
    pause_target(target.pk, "20 of 20 attempts failed")
    response = operator.get(reverse("dashboard:overview"))
    page = response.content.decode()
    assert 'data-health="paused"' in page and "20 of 20 attempts failed" in page
    [node] = [node for node in response.context["graph"].nodes if node.name == "warehouse"]
    assert node.css == "paused" and node.sub.startswith("paused")
