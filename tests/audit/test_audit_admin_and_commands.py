"""Changes made outside the dashboard's own pages are audited too: rules and targets saved or deleted in
the admin, API keys issued, revoked and rotated there, `manage.py redrive` and `rotate_api_key`, and
deletes through the configuration API."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from dashboard.models import ApiKey, Rule, Target
from dashboard.models.audit import AuditEntry
from dashboard.models.rules import new_signing_secret
from dashboard.rules import configuration
from tests.dashboard_support import PASSWORD, make_dead_letters, make_rule, make_target

pytestmark = pytest.mark.django_db
CONNECTION_AUTH = {"ApiKeyAuthParameters": {"ApiKeyName": "X-Api-Key", "ApiKeyValue": "s3cret-value"}}


@pytest.fixture
def admin_client(client) -> Client:
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


@pytest.fixture
def admin_key() -> tuple[ApiKey, dict]:
    key, secret = ApiKey.issue("ops", ["admin"])
    return key, {"HTTP_AUTHORIZATION": f"Bearer {key.access_key_id}:{secret}"}


def entries() -> list[tuple[str, str, str]]:
    return [(entry.actor, entry.action, entry.subject) for entry in AuditEntry.objects.order_by("id")]


def _rule_form(**changes) -> dict:
    return {
        "bus": "default",
        "name": "big-orders",
        "description": "",
        "event_pattern": '{"source": ["shop.orders"]}',
        "state": "enabled",
        "targets-TOTAL_FORMS": "1",
        "targets-INITIAL_FORMS": "0",
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
        "targets-0-name": "fulfilment",
        "targets-0-kind": "webhook",
        "targets-0-enabled": "on",
        "targets-0-url": "https://fulfilment.example.com/hooks",
        "targets-0-method": "POST",
        "targets-0-timeout_seconds": "5",
        "targets-0-headers": "{}",
        "targets-0-signing_secret": new_signing_secret(),
        "targets-0-maximum_retry_attempts": "185",
        "targets-0-maximum_event_age_seconds": "86400",
        "targets-0-dead_letter_enabled": "on",
        **changes,
    }


def test_a_rule_created_in_the_admin_with_a_target_inline_is_audited_for_both(admin_client):
    response = admin_client.post("/admin/dashboard/rule/add/", _rule_form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert entries() == [
        ("root", "rule_create", "rule default/big-orders"),
        ("root", "target_create", "target default/big-orders/fulfilment"),
    ]
    assert Rule.objects.get().created_by.username == "root"


def test_a_rule_edited_in_the_admin_records_the_fields_changed(admin_client):
    rule = make_rule(name="big-orders")
    form = _rule_form(description="only the big ones", **{"targets-TOTAL_FORMS": "0"})
    assert admin_client.post(f"/admin/dashboard/rule/{rule.pk}/change/", form).status_code == 302
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.detail) == ("rule_edit", {"changed": ["description"]})


def test_a_rule_deleted_in_the_admin_is_audited_with_its_targets(admin_client):
    rule = make_rule(name="orders")
    make_target(rule=rule, name="warehouse")
    admin_client.post(f"/admin/dashboard/rule/{rule.pk}/delete/", {"post": "yes"})
    assert not Rule.objects.exists()
    [entry] = AuditEntry.objects.all()
    assert (entry.actor, entry.action, entry.subject, entry.detail) == (
        "root",
        "rule_delete",
        "rule default/orders",
        {"targets": ["warehouse"]},
    )


def test_targets_deleted_by_the_admin_s_bulk_action_are_audited_one_by_one(admin_client):
    rule = make_rule(name="orders")
    chosen = [make_target(rule=rule, name=name).pk for name in ("a", "b")]
    admin_client.post(
        "/admin/dashboard/target/", {"action": "delete_selected", "_selected_action": chosen, "post": "yes"}
    )
    assert not Target.objects.exists()
    assert entries() == [
        ("root", "target_delete", "target default/orders/a"),
        ("root", "target_delete", "target default/orders/b"),
    ]


def test_a_target_edited_in_the_admin_is_audited(admin_client):
    target = make_target(rule=make_rule(name="orders"), name="warehouse")
    form = {
        "rule": target.rule_id,
        "name": target.name,
        "kind": target.kind,
        "enabled": "on",
        "url": "https://warehouse.example.com/new",
        "method": target.method,
        "timeout_seconds": target.timeout_seconds,
        "headers": "{}",
        "signing_secret": target.signing_secret,
        "maximum_retry_attempts": target.maximum_retry_attempts,
        "maximum_event_age_seconds": target.maximum_event_age_seconds,
        "dead_letter_enabled": "on",
    }
    response = admin_client.post(f"/admin/dashboard/target/{target.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    [entry] = AuditEntry.objects.all()
    assert (entry.actor, entry.action) == ("root", "target_edit") and "url" in entry.detail["changed"]


def test_pausing_and_resuming_in_the_admin_is_audited(admin_client):
    target = make_target(rule=make_rule(name="orders"), name="warehouse")
    for action in ("pause", "resume"):
        admin_client.post("/admin/dashboard/target/", {"action": action, "_selected_action": [target.pk]})
    assert entries() == [
        ("root", "target_pause", "target default/orders/warehouse"),
        ("root", "target_resume", "target default/orders/warehouse"),
    ]


def test_an_api_key_issued_revoked_and_rotated_in_the_admin_is_audited(admin_client):
    admin_client.post("/admin/dashboard/apikey/add/", {"name": "ci", "scopes": ["publish"]})
    key = ApiKey.objects.get(name="ci")
    rotate = {"action": "rotate", "_selected_action": [key.pk], "confirmed": "1", "grace_hours": "1"}
    assert admin_client.post("/admin/dashboard/apikey/", rotate).status_code == 200
    admin_client.post("/admin/dashboard/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert [action for _, action, _ in entries()] == ["key_create", "key_rotate", "key_revoke"]
    assert {actor for actor, _, _ in entries()} == {"root"}


def test_manage_py_redrive_and_purge_are_audited_as_the_command():
    dead = make_dead_letters(2)
    call_command("redrive", "--target", str(dead[0].target_id), stdout=StringIO(), stderr=StringIO())
    [entry] = AuditEntry.objects.all()
    assert (entry.actor, entry.action, entry.count) == ("manage.py redrive", "redrive", 2)
    assert entry.subject == f"dead letters (target_id={dead[0].target_id})"

    [other] = make_dead_letters(1)
    call_command("redrive", str(other.pk), "--purge", stdout=StringIO())
    purge = AuditEntry.objects.get(action="purge")
    assert (purge.actor, purge.count, purge.subject) == ("manage.py redrive", 1, "dead letters (1 ids)")


def test_a_redrive_dry_run_is_not_audited():
    make_dead_letters(1)
    call_command("redrive", "--all", "--dry-run", stdout=StringIO())
    assert not AuditEntry.objects.exists()


def test_manage_py_rotate_api_key_is_audited_as_the_command():
    key, _ = ApiKey.issue("ci", ["publish"])
    call_command("rotate_api_key", key.access_key_id, "--grace", "0", stdout=StringIO())
    assert entries() == [("manage.py rotate_api_key", "key_rotate", f"API key {key}")]


def test_deletes_through_the_configuration_api_are_audited_with_the_key(client, admin_key):
    key, header = admin_key
    client.post("/api/v1/buses", {"name": "billing"}, content_type="application/json", **header)
    rule = make_rule(name="paid")
    make_target(rule=rule, name="ship")
    make_target(rule=rule, name="bill")
    assert client.delete("/api/v1/rules/paid/targets/ship", **header).status_code == 204
    assert client.delete("/api/v1/rules/paid?force=true", **header).status_code == 204
    assert client.delete("/api/v1/buses/billing", **header).status_code == 204
    actor = f"api:{key.access_key_id}"
    assert entries() == [
        (actor, "target_delete", "target default/paid/ship"),
        (actor, "rule_delete", "rule default/paid"),
        (actor, "bus_delete", "event bus billing"),
    ]
    assert AuditEntry.objects.get(action="rule_delete").detail == {"targets": ["bill"]}


def test_deleting_a_connection_and_an_api_destination_is_audited(client, admin_key):
    key, header = admin_key
    configuration.create_connection("hooks", authorization_type="API_KEY", auth_parameters=CONNECTION_AUTH)
    configuration.create_api_destination(
        "receiver", connection="hooks", invocation_endpoint="https://hooks.example.com/in", http_method="POST"
    )
    assert client.delete("/api/v1/api-destinations/receiver", **header).status_code == 204
    assert client.delete("/api/v1/connections/hooks", **header).status_code in (200, 204)
    actor = f"api:{key.access_key_id}"
    assert entries() == [
        (actor, "destination_delete", "API destination receiver"),
        (actor, "connection_delete", "connection hooks"),
    ]


def test_deleting_what_does_not_exist_is_not_audited(client, admin_key):
    _, header = admin_key
    assert client.delete("/api/v1/rules/missing", **header).status_code == 204
    assert client.delete("/api/v1/buses/missing", **header).status_code == 204
    assert not AuditEntry.objects.exists()


def test_pruning_rules_as_code_audits_each_delete_as_the_command():
    make_rule(name="stale")
    document = json.dumps({"rules": []})
    call_command("apply_rules", "-", "--prune", stdin=StringIO(document), stdout=StringIO())
    assert entries() == [("command:apply_rules", "rule_delete", "rule default/stale")]
