"""Logins to the dashboard and the admin are throttled (django-axes): after the limit of failures for one
account, or from one address, even the right password is refused with a clear page until an operator
resets the lockout or the cool-off ends."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db
LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every failed login hashes a password; the production hasher would make this file take minutes."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", password="alice-password-1")


def log_in(client, username: str, password: str, *, url: str = LOGIN_URL, address: str = "10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail_until_the_limit(client, username: str = "alice", **where) -> list[int]:
    return [log_in(client, username, "wrong", **where).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_failures_below_the_limit_do_not_lock(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "alice", "wrong").status_code == 200
    assert log_in(client, "alice", "alice-password-1").status_code == 302
    assert is_logged_in(client)


def test_the_limit_of_failures_locks_and_answers_a_clear_page(client, alice):
    statuses = fail_until_the_limit(client)
    assert statuses[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    response = log_in(client, "alice", "wrong")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "manage.py axes_reset" in response.content.decode()


def test_the_right_password_is_refused_while_locked(client, alice):
    fail_until_the_limit(client)
    assert log_in(client, "alice", "alice-password-1").status_code == 429
    assert not is_logged_in(client)


def test_the_account_is_locked_whatever_the_address(client, alice):
    for number in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "alice", "wrong", address=f"10.0.1.{number}")
    assert log_in(client, "alice", "alice-password-1", address="10.0.2.1").status_code == 429
    assert not is_logged_in(client)


def test_the_address_is_locked_whatever_the_account(client, alice):
    for number in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, f"guess{number}", "wrong", address="10.0.3.1")
    assert log_in(client, "alice", "alice-password-1", address="10.0.3.1").status_code == 429
    assert log_in(client, "alice", "alice-password-1", address="10.0.3.2").status_code == 302


def test_admin_logins_are_throttled_too(client, alice):
    alice.is_staff = True
    alice.save()
    statuses = fail_until_the_limit(client, url=ADMIN_LOGIN_URL)
    assert statuses[-1] == 429
    assert log_in(client, "alice", "alice-password-1", url=ADMIN_LOGIN_URL).status_code == 429


def test_axes_reset_lifts_the_lockout(client, alice):
    fail_until_the_limit(client)
    call_command("axes_reset")
    assert log_in(client, "alice", "alice-password-1").status_code == 302
    assert is_logged_in(client)


def test_the_lockout_ends_with_the_cool_off(client, alice):
    from axes.models import AccessAttempt

    fail_until_the_limit(client)
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME)
    assert log_in(client, "alice", "alice-password-1").status_code == 302


LIVE_FAILURE_LIMIT = 3


@pytest.fixture
def subprocess_env(subprocess_env) -> dict:
    """A low limit for the live server: each failed login there costs a full-strength password hash."""
    return subprocess_env | {"EVENTHUB_LOGIN_FAILURE_LIMIT": str(LIVE_FAILURE_LIMIT)}


def _post_login_form(opener, base: str, username: str, password: str) -> tuple[int, str]:
    page = opener.open(f"{base}{LOGIN_URL}").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
    request = urllib.request.Request(f"{base}{LOGIN_URL}", data=form.encode(), headers={"Referer": base})
    try:
        with opener.open(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_live_server_locks_out_with_the_page_not_a_500(live_daphne, alice):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    statuses = [_post_login_form(opener, live_daphne, "alice", "wrong")[0] for _ in range(LIVE_FAILURE_LIMIT)]
    assert statuses == [200] * (LIVE_FAILURE_LIMIT - 1) + [429]
    status, page = _post_login_form(opener, live_daphne, "alice", "alice-password-1")
    assert status == 429
    assert "Too many failed logins" in page
