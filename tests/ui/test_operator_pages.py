"""Operators change rules, targets, signing secrets and API keys from the dashboard: who may, that each
one-click change is asked first, that secrets are shown once, and that each change is audited."""

import json

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from dashboard.models import ApiKey, Rule, Target
from dashboard.models.audit import AuditEntry
from dashboard.ui.forms import TargetEditForm
from tests.dashboard_support import make_operator, make_rule, make_target, make_viewer

pytestmark = pytest.mark.django_db

PATTERN = '{"source": ["shop.orders"]}'


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator() -> Client:
    return signed_in(make_operator())


@pytest.fixture
def rule() -> Rule:
    return make_rule(name="orders")


@pytest.fixture
def target(rule) -> Target:
    return make_target(rule=rule, name="warehouse")


def operator_urls(rule: Rule, target: Target, key: ApiKey) -> list[str]:
    return [
        reverse("dashboard:rule-new"),
        reverse("dashboard:rule-edit", args=[rule.pk]),
        reverse("dashboard:rule-switch", args=[rule.pk, "disable"]),
        reverse("dashboard:target-new", args=[rule.pk]),
        reverse("dashboard:target-edit", args=[target.pk]),
        reverse("dashboard:target-switch", args=[target.pk, "disable"]),
        reverse("dashboard:target-rotate-secret", args=[target.pk]),
        reverse("dashboard:target-pause", args=[target.pk]),
        reverse("dashboard:target-resume", args=[target.pk]),
        reverse("dashboard:api-keys"),
        reverse("dashboard:api-key-rotate", args=[key.pk]),
        reverse("dashboard:api-key-revoke", args=[key.pk]),
    ]


def test_anonymous_visitors_are_sent_to_the_login_page(client, rule, target):
    key, _ = ApiKey.issue("k", ["read"])
    for url in [*operator_urls(rule, target, key), reverse("dashboard:audit")]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_viewers_may_not_open_or_post_any_operator_page(rule, target):
    key, _ = ApiKey.issue("k", ["read"])
    viewer = signed_in(make_viewer())
    for url in operator_urls(rule, target, key):
        assert viewer.get(url).status_code == 403, url
        assert viewer.post(url, {"name": "x", "event_pattern": PATTERN}).status_code == 403, url
    assert viewer.post(reverse("dashboard:rule-preview"), {"pattern": PATTERN}).status_code == 403
    target.refresh_from_db()
    assert target.enabled and ApiKey.objects.get().is_active and not AuditEntry.objects.exists()


def test_viewers_see_the_audit_log_but_no_operator_buttons(rule, target):
    viewer = signed_in(make_viewer())
    assert viewer.get(reverse("dashboard:audit")).status_code == 200
    html = viewer.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    assert "Rotate signing secret" not in html and "Edit target" not in html


def test_operator_creates_a_rule_and_it_is_audited(operator):
    form = {"bus": "default", "name": "big-orders", "event_pattern": PATTERN, "state": "enabled"}
    response = operator.post(reverse("dashboard:rule-new"), form)
    rule = Rule.objects.get(name="big-orders")
    assert response["Location"] == reverse("dashboard:rule-detail", args=[rule.pk])
    assert rule.created_by.username == "operator"
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.subject) == ("operator", "rule_create", "rule default/big-orders")


def test_an_invalid_pattern_is_refused_with_the_reason(operator):
    form = {"bus": "default", "name": "bad", "event_pattern": '{"source": "shop"}', "state": "enabled"}
    response = operator.post(reverse("dashboard:rule-new"), form)
    assert response.status_code == 200 and not Rule.objects.exists()
    assert 'data-field="event_pattern"' in response.content.decode()
    assert "Invalid pattern at source: &quot;source&quot; must be an object or an array" in response.content.decode()


def test_a_rule_name_already_on_the_bus_is_refused(operator, rule):
    form = {"bus": "default", "name": "orders", "event_pattern": PATTERN, "state": "enabled"}
    response = operator.post(reverse("dashboard:rule-new"), form)
    assert response.status_code == 200 and Rule.objects.count() == 1
    assert "already exists" in response.content.decode()


def test_operator_edits_a_rule_pattern(operator, rule):
    form = {"bus": "default", "name": "orders", "event_pattern": '{"source": ["shop.users"]}', "state": "enabled"}
    operator.post(reverse("dashboard:rule-edit", args=[rule.pk]), form)
    rule.refresh_from_db()
    assert rule.event_pattern == '{"source": ["shop.users"]}'
    assert AuditEntry.objects.get().detail == {"changed": ["event_pattern"]}


def test_the_rule_preview_explains_and_backtests_like_the_admin(operator, rule):
    event = {"source": "shop.orders", "detail-type": "X", "detail": {}}
    data = {"pattern": PATTERN, "event": json.dumps(event), "bus": "default", "rule_id": str(rule.pk)}
    answer = operator.post(reverse("dashboard:rule-preview"), data).json()
    assert answer["valid"] and answer["test"]["matched"]
    assert answer["backtest"] == {"sample": 0, "new": 0, "old": 0}
    invalid = operator.post(reverse("dashboard:rule-preview"), {"pattern": "[]"}).json()
    assert invalid["valid"] is False and invalid["error"]


def test_disabling_a_rule_is_asked_first_then_done(operator, rule):
    url = reverse("dashboard:rule-switch", args=[rule.pk, "disable"])
    page = operator.get(url).content.decode()
    assert "Disable rule orders?" in page
    rule.refresh_from_db()
    assert rule.is_enabled
    operator.post(url)
    rule.refresh_from_db()
    assert not rule.is_enabled
    assert AuditEntry.objects.get().action == "rule_disable"


def test_an_unknown_switch_is_not_found(operator, rule):
    assert operator.get(f"/rules/{rule.pk}/explode/").status_code == 404


def target_form_data(rule: Rule, **fields) -> dict:
    """What the new-target page posts when only `fields` are typed over its defaults."""
    form = TargetEditForm(instance=Target(rule=rule))
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field, forms.BooleanField):
            data |= {name: "on"} if value else {}
        elif value is not None:
            data[name] = value
    return data | fields


def test_operator_adds_a_target_to_a_rule(operator, rule):
    form = target_form_data(rule, name="billing", url="https://billing.example/hook")
    response = operator.post(reverse("dashboard:target-new", args=[rule.pk]), form)
    target = Target.objects.get(name="billing")
    assert response["Location"] == reverse("dashboard:target-detail", args=[target.pk])
    assert target.rule == rule and target.signing_secret.startswith("whsec_")
    assert AuditEntry.objects.get().subject == "target default/orders/billing"


def test_a_target_name_already_on_the_rule_is_refused(operator, target):
    form = target_form_data(target.rule, name="warehouse", url="https://x.example/")
    response = operator.post(reverse("dashboard:target-new", args=[target.rule_id]), form)
    assert response.status_code == 200 and Target.objects.count() == 1
    assert "This rule has a target by that name already." in response.content.decode()


def test_re_enabling_a_target_disabled_by_a_410_clears_the_reason(operator, target):
    Target.objects.filter(pk=target.pk).update(enabled=False, disabled_reason="410 Gone from the receiver")
    url = reverse("dashboard:target-switch", args=[target.pk, "enable"])
    assert "410 Gone from the receiver" in operator.get(url).content.decode()
    operator.post(url)
    target.refresh_from_db()
    assert target.enabled and target.disabled_reason == ""
    assert AuditEntry.objects.get().detail == {"was_disabled_because": "410 Gone from the receiver"}


def test_rotating_a_secret_shows_the_new_one_once_and_audits_without_it(operator, target):
    old = target.signing_secret
    url = reverse("dashboard:target-rotate-secret", args=[target.pk])
    operator.get(url)
    target.refresh_from_db()
    assert target.signing_secret == old  # the GET only asks
    response = operator.post(url)
    target.refresh_from_db()
    assert target.signing_secret != old and target.signing_secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert (
        target.signing_secret not in operator.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    )
    entry = AuditEntry.objects.get()
    assert entry.action == "secret_rotate" and target.signing_secret not in json.dumps(entry.detail) + entry.subject


def test_issuing_an_api_key_shows_a_working_secret_once(operator):
    response = operator.post(reverse("dashboard:api-keys"), {"name": "shop backend", "scopes": ["publish", "read"]})
    key = ApiKey.objects.get()
    html = response.content.decode()
    secret = html.split('id="shown-secret">', 1)[1].split("<", 1)[0]
    assert key.check_secret(secret) and key.scopes == ["publish", "read"]
    assert secret not in operator.get(reverse("dashboard:api-keys")).content.decode()
    assert AuditEntry.objects.get().detail == {"scopes": ["publish", "read"]}


def test_an_api_key_needs_a_known_scope(operator):
    response = operator.post(reverse("dashboard:api-keys"), {"name": "x", "scopes": ["root"]})
    assert response.status_code == 200 and not ApiKey.objects.exists()
    assert "Select a valid choice" in response.content.decode()


def test_revoking_an_api_key_is_asked_first_then_done(operator):
    key, _ = ApiKey.issue("old", ["read"])
    url = reverse("dashboard:api-key-revoke", args=[key.pk])
    assert "Revoke API key old" in operator.get(url).content.decode()
    key.refresh_from_db()
    assert key.is_active
    operator.post(url)
    key.refresh_from_db()
    assert not key.is_active
    operator.post(url)  # a second click finds it revoked and records nothing more
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["key_revoke"]


def test_rotating_an_api_key_shows_the_new_secret_once_and_keeps_the_old_one_for_a_while(operator):
    key, old_secret = ApiKey.issue("shop", ["publish"])
    url = reverse("dashboard:api-key-rotate", args=[key.pk])
    assert "Rotate the secret of API key shop" in operator.get(url).content.decode()
    response = operator.post(url)
    new_secret = response.content.decode().split('id="shown-secret">', 1)[1].split("<", 1)[0]
    key.refresh_from_db()
    assert key.check_secret(new_secret) and key.check_secret(old_secret)
    assert "no-store" in response["Cache-Control"]
    assert AuditEntry.objects.get().action == "key_rotate"
