"""The target admin: every target in one list (rule, kind, URL or handler, why disabled), filters and
search, editing with the handler limited to registered ones; and the links to it from the dashboard."""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from dashboard.models import Target
from tests.dashboard_support import PASSWORD, make_rule, make_target, make_viewer

pytestmark = pytest.mark.django_db
LIST_URL = "/admin/dashboard/target/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


@pytest.fixture
def targets() -> dict[str, Target]:
    orders, refunds = make_rule(name="orders"), make_rule(name="refunds")
    return {
        "fulfilment": make_target(rule=orders, name="fulfilment", url="https://fulfilment.example.com/hooks"),
        "warehouse": make_target(
            rule=orders,
            name="warehouse",
            url="",
            kind=Target.Kind.PYTHON,
            handler="dashboard.shop.orders.ship_new_order",
        ),
        "ledger": make_target(
            rule=refunds,
            name="ledger",
            url="https://ledger.example.com/gone",
            enabled=False,
            disabled_reason="HTTP 410 Gone",
            disabled_at=timezone.now(),
        ),
    }


def _listed(response) -> list[str]:
    return sorted(target.name for target in response.context["cl"].result_list)


def _change_form(target: Target, **changes) -> dict:
    fields = {
        "rule": target.rule_id,
        "name": target.name,
        "kind": target.kind,
        "url": target.url,
        "method": target.method,
        "timeout_seconds": target.timeout_seconds,
        "headers": "{}",
        "signing_secret": target.signing_secret,
        "handler": target.handler,
        "maximum_retry_attempts": target.maximum_retry_attempts,
        "maximum_event_age_seconds": target.maximum_event_age_seconds,
        "dead_letter_enabled": "on",
        **changes,
    }
    if target.enabled:
        fields.setdefault("enabled", "on")
    return {name: value for name, value in fields.items() if value is not None}


def test_target_list_shows_rule_kind_destination_and_why_disabled(admin_client, targets):
    response = admin_client.get(LIST_URL)
    page = response.content.decode()
    assert response.status_code == 200 and _listed(response) == ["fulfilment", "ledger", "warehouse"]
    for shown in ("default/orders", "https://fulfilment.example.com/hooks", "dashboard.shop.orders.ship_new_order"):
        assert shown in page
    assert "HTTP 410 Gone" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind__exact=python", ["warehouse"]),
        ("enabled__exact=0", ["ledger"]),
        ("q=refunds", ["ledger"]),
        ("q=fulfilment.example", ["fulfilment"]),
        ("q=ship_new_order", ["warehouse"]),
    ],
)
def test_target_list_filters_and_searches(admin_client, targets, query, expected):
    assert _listed(admin_client.get(f"{LIST_URL}?{query}")) == expected


def test_target_is_edited_in_its_own_admin_page(admin_client, targets):
    target = targets["fulfilment"]
    url = reverse("admin:dashboard_target_change", args=[target.pk])
    response = admin_client.post(url, _change_form(target, url="https://new.example.com/hooks"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.url == "https://new.example.com/hooks"


def test_target_admin_refuses_an_unregistered_handler(admin_client, targets):
    target = targets["warehouse"]
    url = reverse("admin:dashboard_target_change", args=[target.pk])
    response = admin_client.post(url, _change_form(target, handler="os.system"))
    assert "os.system is not one of the available choices" in response.context["adminform"].form.errors["handler"][0]
    target.refresh_from_db()
    assert target.handler == "dashboard.shop.orders.ship_new_order"


def test_a_stored_unregistered_handler_is_shown_and_refused_on_save(admin_client, targets):
    target = targets["warehouse"]
    Target.objects.filter(pk=target.pk).update(handler="os.system")  # saved before handlers were registered
    target.refresh_from_db()
    url = reverse("admin:dashboard_target_change", args=[target.pk])
    assert (
        '<option value="os.system" selected>os.system (not registered)</option>'
        in admin_client.get(url).content.decode()
    )
    errors = admin_client.post(url, _change_form(target)).context["adminform"].form.errors
    assert "handler 'os.system' is not registered" in errors["handler"][0]


def test_target_page_links_staff_to_its_admin_page(admin_client, targets):
    target = targets["fulfilment"]
    page = admin_client.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    assert f'href="{reverse("admin:dashboard_target_change", args=[target.pk])}"' in page


def test_target_page_has_no_admin_link_for_a_viewer(client, targets):
    client.force_login(make_viewer())
    target = targets["fulfilment"]
    page = client.get(reverse("dashboard:target-detail", args=[target.pk])).content.decode()
    assert reverse("admin:dashboard_target_change", args=[target.pk]) not in page


def _nav(client) -> str:
    page = client.get(reverse("dashboard:overview")).content.decode()
    return re.search(r'<nav class="mainnav".*?</nav>', page, re.DOTALL).group()


def test_nav_links_staff_to_the_admin(admin_client):
    assert f'<a href="{reverse("admin:index")}">Admin</a>' in _nav(admin_client)


def test_nav_has_no_admin_link_for_a_viewer(client):
    client.force_login(make_viewer())
    assert f'href="{reverse("admin:index")}"' not in _nav(client)
