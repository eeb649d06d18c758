"""Webhooks are signed per Standard Webhooks, verified here with the reference `standardwebhooks` library."""

import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dashboard.delivery.signing import signed_headers, verify
from dashboard.models import Delivery
from dashboard.models.rules import new_signing_secret
from tests.delivery_harness import Reply, make_rule_with_target, publish, running_dispatcher
from tests.waiting import wait_until


def test_signature_verifies_with_the_reference_library():
    secret = new_signing_secret()
    body = b'{"id": "e-1", "detail": {"total": 12}}'
    headers = signed_headers(secret, "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {"id": "e-1", "detail": {"total": 12}}


def test_signature_fails_for_a_changed_body():
    secret = new_signing_secret()
    headers = signed_headers(secret, "msg_1", int(time.time()), b"{}")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"x": 1}', headers)


def test_every_target_gets_its_own_secret():
    assert new_signing_secret() != new_signing_secret()
    assert new_signing_secret().startswith("whsec_")


@pytest.mark.django_db(transaction=True)
def test_delivered_webhook_verifies_with_the_targets_secret(fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    [event_id] = publish()
    with running_dispatcher():
        wait_until(lambda: receiver.requests("/hook"), message="a delivery")
    request = receiver.requests("/hook")[0]
    assert Webhook(target.signing_secret).verify(request.body, request.headers)["id"] == event_id
    assert request.headers["webhook-id"] == Delivery.objects.get().webhook_id
    assert request.headers["Content-Type"] == "application/json"


@pytest.mark.django_db(transaction=True)
def test_each_retry_is_signed_afresh_with_the_same_id(fast, receiver):
    target = make_rule_with_target(receiver.url("/hook"))
    receiver.script("/hook", Reply(500), Reply(200))
    publish()
    with running_dispatcher():
        wait_until(lambda: len(receiver.requests("/hook")) == 2, message="two attempts")
    first, second = receiver.requests("/hook")
    assert first.webhook_id == second.webhook_id
    for request in (first, second):
        Webhook(target.signing_secret).verify(request.body, request.headers)


def test_our_receiver_check_accepts_the_reference_signature_and_refuses_a_stale_one():
    secret = new_signing_secret()
    body = b'{"id": "e-1"}'
    now = int(time.time())
    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, tz=UTC), body.decode())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": f"v1,bogus {reference}"}
    assert verify(secret, headers, body, now=now)
    assert not verify(secret, headers, body + b" ", now=now)
    assert not verify(secret, headers, body, now=now + 301)
