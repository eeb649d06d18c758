"""Credentials sent in a URL never reach the logs: Daphne's access log shows their values redacted."""

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from dashboard.observability.log_redaction import redact_url
from tests.conftest import ROOT, free_port, wait_for_port
from tests.waiting import wait_until


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("/api/v1/events?api_key=EH01:s3cret", "/api/v1/events?api_key=[REDACTED]"),
        ("/api/v1/events?bus=b&Token=s3cret&cursor=5", "/api/v1/events?bus=b&Token=[REDACTED]&cursor=5"),
        (
            "/?X-Amz-Credential=EH01%2F2026&X-Amz-Signature=ab",
            "/?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]",
        ),
        ("/api/v1/events?api%5Fkey=s3cret;secret=s3cret", "/api/v1/events?api%5Fkey=[REDACTED];secret=[REDACTED]"),
    ],
)
def test_credential_parameters_are_redacted_from_a_logged_url(url, logged):
    assert redact_url(url) == logged


@pytest.mark.parametrize("url", ["/api/v1/events", "/api/v1/events?source=shop&detail-type=a%3Db", "/?keys=1"])
def test_a_url_without_credentials_is_logged_as_is(url):
    assert redact_url(url) == url


@pytest.fixture
def daphne_access_log(subprocess_env, tmp_path):
    """A live Daphne writing its access log to a file; yields its base URL and the log's path."""
    log = tmp_path / "access.log"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--access-log", str(log)]
        + ["eventhub.asgi:application"],
        cwd=ROOT,
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}", log
    finally:
        process.terminate()
        process.wait(timeout=10)


def logged_line(log, path_prefix: str, timeout: float = 10.0) -> str:
    """The access-log line of the request to `path_prefix` (Daphne writes it once the response is sent)."""
    lines = wait_until(
        lambda: [line for line in log.read_text().splitlines() if f" {path_prefix}" in line],
        timeout,
        f"an access-log line for {path_prefix}",
    )
    return lines[0]


def test_a_key_in_the_query_string_is_refused_and_redacted_from_the_access_log(daphne_access_log, bearer):
    url, log = daphne_access_log
    key_id, secret = bearer.removeprefix("Bearer ").split(":")
    request = urllib.request.Request(
        f"{url}/api/v1/events?api_key={key_id}:{secret}",
        data=b'{"source": "a", "detail-type": "b"}',
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400

    line = logged_line(log, "/api/v1/events?")
    assert "api_key=[REDACTED]" in line
    assert secret not in log.read_text()
