"""Schemathesis against the live server's /api/v1/openapi.json: no generated request may get a 5xx.

`make test` runs a small budget (about 40 s); `make fuzz` runs at least 1,000 requests per operation.
"""

from chaos.fuzz import run_schemathesis
from dashboard.models import ApiKey


def test_no_generated_request_gets_a_server_error(live_daphne):
    key, secret = ApiKey.issue("fuzz", ["publish", "read", "admin"])
    result = run_schemathesis(live_daphne, f"Bearer {key.access_key_id}:{secret}", examples=15, max_time=40)
    assert result["tested"] >= 10, result["output"]
    assert result["server_errors"] == [], result["output"]
