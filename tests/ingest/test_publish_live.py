"""The native publish API through a real Daphne: the middleware-free fast path and its ingest pool."""

import http.client
import json
import urllib.error
import urllib.request

from dashboard.models import Event


def post(
    url: str, bearer: str, body: bytes, content_type: str = "application/json", path: str = "/api/v1/events"
) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}{path}", data=body, headers={"Authorization": bearer, "Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_accepted_batch_is_committed_before_the_answer(live_daphne, bearer):
    batch = [{"source": "live", "detail-type": "T", "detail": {"n": n}} for n in range(10)]
    status, body = post(live_daphne, bearer, json.dumps(batch).encode())
    assert status == 200
    ids = [entry["event_id"] for entry in body["entries"]]
    assert set(Event.objects.values_list("event_id", flat=True)) == set(ids)


def test_fast_path_still_refuses_bad_input_with_json_errors(live_daphne, bearer):
    assert post(live_daphne, bearer, b"{oops")[0] == 400
    assert post(live_daphne, bearer, b"source=a", "text/plain")[0] == 415
    assert post(live_daphne, "Bearer nobody:nothing", b"{}")[0] == 401
    assert post(live_daphne, bearer, json.dumps({"detail": {"x": "y" * 3_000_000}}).encode())[0] == 413


def test_fast_path_answers_carry_security_headers(live_daphne, bearer):
    request = urllib.request.Request(
        f"{live_daphne}/api/v1/events",
        data=b'{"source": "a", "detail-type": "b"}',
        headers={"Authorization": bearer, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_fast_path_refuses_an_over_limit_body_sent_without_a_length(live_daphne, bearer, settings):
    host, port = live_daphne.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/api/v1/events")
    connection.putheader("Authorization", bearer)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    chunk = b"x" * 65536
    for _ in range(settings.DATA_UPLOAD_MAX_MEMORY_SIZE // len(chunk) + 2):
        connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "PayloadTooLarge"


def append(url: str, bearer: str, stream: str, expected: object) -> tuple[int, dict]:
    body = {"expected_version": expected, "events": [{"detail-type": "OrderCreated", "detail": {"n": 1}}]}
    return post(url, bearer, json.dumps(body).encode(), path=f"/api/v1/streams/{stream}/events")


def test_stream_appends_take_the_fast_path_with_their_expected_versions(live_daphne, bearer):
    assert append(live_daphne, bearer, "Order/o-1", "no_stream")[1]["last_version"] == 1
    status, body = append(live_daphne, bearer, "Order/o-1", 0)

    assert (status, body["error"]["code"], body["error"]["current_version"]) == (409, "WrongExpectedVersion", 1)
    assert Event.objects.filter(aggregate_type="Order", aggregate_id="o-1").count() == 1
