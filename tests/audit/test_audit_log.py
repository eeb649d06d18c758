"""The audit log: every redrive, purge, replay and rebuild, from the dashboard, the admin or the API, is
recorded with who, when, what and how many, and the Audit page shows it."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from dashboard.audit import Action, record_audit
from dashboard.models import ApiKey, Delivery
from dashboard.models.audit import AuditEntry
from dashboard.models.streams import Replay
from tests.dashboard_support import make_dead_letters, make_operator, make_rule, make_target, make_viewer

pytestmark = pytest.mark.django_db

WINDOW = {"start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator() -> Client:
    return signed_in(make_operator())


@pytest.fixture
def admin_key() -> tuple[ApiKey, dict]:
    key, secret = ApiKey.issue("ops", ["admin"])
    return key, {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def api_post(client: Client, url: str, body: dict, header: dict):
    return client.post(url, json.dumps(body), content_type="application/json", **header)


def only_entry() -> AuditEntry:
    [entry] = AuditEntry.objects.all()
    return entry


def test_a_dashboard_redrive_records_who_and_how_many(operator):
    dead = make_dead_letters(3)
    target_id = dead[0].target_id
    data = {"scope": "filter", "target": str(target_id), "confirmed": "1"}
    operator.post(reverse("dashboard:dlq-redrive"), data, HTTP_HX_REQUEST="true")
    entry = only_entry()
    assert (entry.actor, entry.user.username, entry.action, entry.count) == ("operator", "operator", "redrive", 3)
    assert entry.subject == f"dead letters (scope=filter, target={target_id})"
    assert entry.detail == {"skipped": 0}


def test_a_dashboard_purge_records_how_many(operator):
    [dead] = make_dead_letters(1)
    data = {"scope": "ids", "selected": str(dead.id), "confirmed": "1"}
    operator.post(reverse("dashboard:dlq-purge"), data, HTTP_HX_REQUEST="true")
    entry = only_entry()
    assert (entry.action, entry.count, entry.subject) == ("purge", 1, "dead letters (scope=ids, 1 ticked)")


def test_a_purge_that_is_only_asked_records_nothing(operator):
    [dead] = make_dead_letters(1)
    operator.post(reverse("dashboard:dlq-purge"), {"scope": "ids", "selected": str(dead.id)}, HTTP_HX_REQUEST="true")
    assert not AuditEntry.objects.exists()


def test_an_api_redrive_and_purge_name_the_key(client, admin_key):
    key, header = admin_key
    first, second = make_dead_letters(2)
    api_post(client, "/api/v1/dead-letters/redrive", {"ids": [str(first.pk)]}, header)
    api_post(client, "/api/v1/dead-letters/purge", {"filter": {"target_id": second.target_id}}, header)
    redrive, purge = AuditEntry.objects.order_by("id")
    assert (redrive.actor, redrive.action, redrive.count, redrive.subject) == (
        f"api:{key.access_key_id}",
        "redrive",
        1,
        "dead letters (1 ids)",
    )
    assert (purge.action, purge.count, purge.subject) == ("purge", 1, f"dead letters (target_id={second.target_id})")


def test_a_dashboard_replay_start_and_cancel_are_recorded(operator):
    make_target(rule=make_rule())
    form = {"name": "again", "bus": "default", "start": "2020-01-01T00:00", "end": "2021-01-01T00:00"}
    operator.post("/replays/start", form | {"rate_per_second": "5"})
    operator.post("/replays/again/cancel")
    start, cancel = AuditEntry.objects.order_by("id")
    assert (start.action, start.subject, start.count) == ("replay_start", "replay again", 0)
    assert start.detail == {"bus": "default", "rate_per_second": 5.0, "target_ids": []}
    assert (cancel.action, cancel.subject) == ("replay_cancel", "replay again")


def test_an_api_replay_is_recorded(client, admin_key):
    key, header = admin_key
    api_post(client, "/api/v1/replays", WINDOW | {"name": "from-api"}, header)
    entry = only_entry()
    assert (entry.actor, entry.action, entry.subject) == (f"api:{key.access_key_id}", "replay_start", "replay from-api")
    assert Replay.objects.filter(name="from-api").exists()


def test_a_rebuild_from_the_dashboard_and_the_api_is_recorded(operator, client, admin_key):
    operator.post("/projections/order_views/rebuild")
    client.post("/api/v1/projections/order_views/rebuild", **admin_key[1])
    assert list(AuditEntry.objects.order_by("id").values_list("actor", "action", "subject")) == [
        ("operator", "projection_rebuild", "projection order_views"),
        (f"api:{admin_key[0].access_key_id}", "projection_rebuild", "projection order_views"),
    ]


def test_the_admin_purge_action_asks_for_confirmation_first():
    admin = signed_in(make_operator_staff())
    dead = make_dead_letters(2)
    data = {"action": "purge", "_selected_action": [str(d.pk) for d in dead]}
    page = admin.post(reverse("admin:dashboard_delivery_changelist"), data)
    assert page.status_code == 200 and "Purge 2 dead letters for good?" in page.content.decode()
    assert Delivery.objects.filter(pk__in=[d.pk for d in dead]).count() == 2
    admin.post(reverse("admin:dashboard_delivery_changelist"), data | {"confirmed": "yes"})
    assert not Delivery.objects.filter(pk__in=[d.pk for d in dead]).exists()
    entry = only_entry()
    assert (entry.action, entry.count, entry.detail) == ("purge", 2, {"via": "admin"})


def make_operator_staff():
    from django.contrib.auth.models import Permission

    user = make_operator(username="staff-operator")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    return user


def test_the_audit_page_lists_entries_newest_first_and_filters_by_action():
    record_audit(Action.PURGE, "dead letters", actor="someone", count=4)
    record_audit(Action.KEY_REVOKE, "API key <b>old</b>", actor="someone")
    viewer = signed_in(make_viewer())
    html = viewer.get(reverse("dashboard:audit")).content.decode()
    assert html.index('data-action="key_revoke"') < html.index('data-action="purge"')
    assert "API key &lt;b&gt;old&lt;/b&gt;" in html
    only = viewer.get(reverse("dashboard:audit"), {"action": "purge"}).content.decode()
    assert 'data-action="purge"' in only and 'data-action="key_revoke"' not in only


def test_the_audit_page_pages_back_through_older_entries(monkeypatch):
    monkeypatch.setattr("dashboard.audit.PAGE_ENTRIES", 2)
    for n in range(3):
        record_audit(Action.PURGE, f"batch {n}", actor="someone", count=n)
    viewer = signed_in(make_viewer())
    first = viewer.get(reverse("dashboard:audit")).content.decode()
    assert "batch 2" in first and "batch 1" in first and "batch 0" not in first
    older = AuditEntry.objects.get(subject="batch 1").pk
    assert f"before={older}" in first
    assert "batch 0" in viewer.get(reverse("dashboard:audit"), {"before": older}).content.decode()
