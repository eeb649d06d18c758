"""Rotating an API key: a new secret at once, the old one accepted for a grace period, then refused,
for bearer keys and SigV4 alike; from `manage.py rotate_api_key` and from the admin."""

import json
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from dashboard.api import auth
from dashboard.models import ApiKey

pytestmark = pytest.mark.django_db
BODY = json.dumps({"source": "a", "detail-type": "b"})


def publish(client, key: ApiKey, secret: str) -> int:
    header = f"Bearer {key.access_key_id}:{secret}"
    return client.post("/api/v1/events", BODY, content_type="application/json", HTTP_AUTHORIZATION=header).status_code


def end_grace(key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
    key.refresh_from_db()


def key_cache_expires() -> None:
    """What KEY_CACHE_SECONDS later looks like to this process: keys are read from the database again."""
    auth._keys.clear()


@pytest.fixture(autouse=True)
def fresh_key_cache():
    key_cache_expires()
    auth._verified_secrets.clear()


def test_rotation_gives_a_new_secret_and_keeps_the_old_one_during_the_grace(api_key):
    key, old = api_key
    new = key.rotate()
    assert new != old
    assert key.check_secret(new)
    assert key.check_secret(old)
    assert key.previous_secret_expires_at - key.rotated_at == timedelta(hours=24)


def test_the_old_secret_is_refused_once_the_grace_is_over(api_key):
    key, old = api_key
    new = key.rotate()
    end_grace(key)
    assert not key.check_secret(old)
    assert key.check_secret(new)


def test_zero_grace_cuts_the_old_secret_off_at_once(api_key):
    key, old = api_key
    key.rotate(grace=timedelta(0))
    assert not key.check_secret(old)
    assert key.secret_digests() == [key.secret_digest]


def test_rotating_again_ends_the_first_secret(api_key):
    key, first = api_key
    second = key.rotate()
    third = key.rotate()
    assert not key.check_secret(first)
    assert key.check_secret(second)
    assert key.check_secret(third)


def test_rotating_a_stale_copy_keeps_the_secret_of_the_rotation_before(api_key):
    key, _ = api_key
    stale = ApiKey.objects.get(pk=key.pk)
    second = key.rotate()
    third = stale.rotate()
    key.refresh_from_db()
    assert key.check_secret(second)
    assert key.check_secret(third)


def test_the_grace_comes_from_the_setting(api_key, settings):
    settings.EVENTHUB = settings.EVENTHUB | {"API_KEY_ROTATION_GRACE_SECONDS": 60.0}
    key, _ = api_key
    key.rotate()
    assert key.previous_secret_expires_at - key.rotated_at == timedelta(seconds=60)


def test_a_revoked_key_cannot_be_rotated(api_key):
    key, _ = api_key
    ApiKey.objects.get(pk=key.pk).revoke()
    with pytest.raises(ValueError, match="revoked"):
        key.rotate()


def test_bearer_accepts_both_secrets_during_the_grace(client, api_key):
    key, old = api_key
    new = key.rotate()
    assert publish(client, key, old) == 200
    assert publish(client, key, new) == 200


def test_bearer_refuses_the_old_secret_after_the_grace_even_if_it_was_verified_before(client, api_key):
    key, old = api_key
    key.rotate()
    assert publish(client, key, old) == 200
    end_grace(key)
    key_cache_expires()
    assert publish(client, key, old) == 401


def test_bearer_refuses_the_old_secret_at_once_after_a_zero_grace_rotation(client, api_key):
    key, old = api_key
    assert publish(client, key, old) == 200
    key.rotate(grace=timedelta(0))
    key_cache_expires()
    assert publish(client, key, old) == 401


def events_client(url: str, key: ApiKey, secret: str):
    return boto3.client(
        "events",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def put_one(url: str, key: ApiKey, secret: str) -> int:
    answer = events_client(url, key, secret).put_events(Entries=[{"Source": "a", "DetailType": "b", "Detail": "{}"}])
    return answer["FailedEntryCount"]


def test_sigv4_accepts_both_secrets_during_the_grace(live_daphne):
    key, old = ApiKey.issue("sdk", ["publish"])
    new = key.rotate()
    assert put_one(live_daphne, key, old) == 0
    assert put_one(live_daphne, key, new) == 0


def test_sigv4_refuses_the_old_secret_after_the_grace(live_daphne):
    key, old = ApiKey.issue("sdk", ["publish"])
    new = key.rotate()
    end_grace(key)
    with pytest.raises(ClientError) as refused:
        put_one(live_daphne, key, old)
    assert refused.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert put_one(live_daphne, key, new) == 0


def test_command_prints_the_new_secret_as_json(api_key, capsys):
    key, old = api_key
    call_command("rotate_api_key", key.access_key_id, "--grace", "3600", "--json")
    printed = json.loads(capsys.readouterr().out)
    key.refresh_from_db()
    assert printed["access_key_id"] == key.access_key_id
    assert key.check_secret(printed["secret_access_key"])
    assert key.check_secret(old)
    assert printed["previous_secret_expires_at"] == key.previous_secret_expires_at.isoformat()
    assert key.previous_secret_expires_at - key.rotated_at == timedelta(hours=1)


def test_command_with_zero_grace_says_the_old_secret_no_longer_works(api_key, capsys):
    key, old = api_key
    call_command("rotate_api_key", key.access_key_id, "--grace", "0")
    assert "The old secret no longer works." in capsys.readouterr().out
    key.refresh_from_db()
    assert not key.check_secret(old)


@pytest.mark.parametrize("grace", ["-1", "inf", "nan"])
def test_command_refuses_a_grace_that_is_not_a_duration(api_key, grace):
    with pytest.raises(CommandError, match="grace|convert|overflow|days"):
        call_command("rotate_api_key", api_key[0].access_key_id, "--grace", grace)


def test_command_names_an_unknown_key():
    with pytest.raises(CommandError, match="no API key EHNOPE"):
        call_command("rotate_api_key", "EHNOPE")


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def rotate_in_admin(admin_client, keys: list[ApiKey], **confirmation):
    data = {"action": "rotate", "_selected_action": [key.pk for key in keys], **confirmation}
    return admin_client.post("/admin/dashboard/apikey/", data)


def test_admin_rotation_asks_for_the_grace_before_rotating(admin_client, api_key):
    key, old = api_key
    response = rotate_in_admin(admin_client, [key])
    assert response.status_code == 200
    assert b'name="grace_hours"' in response.content
    assert b'value="24.0"' in response.content
    key.refresh_from_db()
    assert key.rotated_at is None


def test_admin_rotation_shows_the_new_secret_once_and_stores_it_nowhere(admin_client, api_key):
    key, old = api_key
    response = rotate_in_admin(admin_client, [key], confirmed="yes", grace_hours="2")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (rotated_key, secret), *_ = response.context["rotated"]
    assert secret.encode() in response.content
    key.refresh_from_db()
    assert key.check_secret(secret)
    assert key.check_secret(old)
    assert key.previous_secret_expires_at - key.rotated_at == timedelta(hours=2)
    assert secret.encode() not in admin_client.get("/admin/dashboard/apikey/").content


def test_admin_rotation_refuses_a_negative_grace(admin_client, api_key):
    key, _ = api_key
    response = rotate_in_admin(admin_client, [key], confirmed="yes", grace_hours="-1")
    assert response.status_code == 200
    assert b"greater than or equal to 0" in response.content
    key.refresh_from_db()
    assert key.rotated_at is None


def test_admin_rotation_leaves_revoked_keys_alone(admin_client, api_key):
    key, _ = api_key
    key.revoke()
    response = rotate_in_admin(admin_client, [key], confirmed="yes", grace_hours="1")
    assert b"nothing to rotate" in response.content
    key.refresh_from_db()
    assert key.rotated_at is None
