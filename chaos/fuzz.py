"""Schemathesis against the live API's own OpenAPI description: no generated request may get a 5xx.

    python -m chaos.fuzz [--examples 1000] [--max-time 900]     # `make fuzz`

Starts its own stack (private Redis, scratch database, one Daphne), issues a key with every scope, runs
`st run` over every operation in /api/v1/openapi.json with the `not_a_server_error` check, and prints
which operations answered 5xx, with the server's traceback lines for each distinct error.

Then it sends the shapes schemathesis does not generate (issue 10): entries nested 254 to 1,023 levels
deep on every publish path (native, stream append, AWS PutEvents), and array-consistency shapes (items
that each hold one of a rule's fields, many arrays, arrays in arrays) to publish and to the pattern
testers. Each must answer below 500, within ADVERSARIAL_SECONDS.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("st")


def schemathesis_command(base_url: str, authorization: str, examples: int, max_time: float, report_dir: Path) -> list:
    return [
        str(SCHEMATHESIS),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: {authorization}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(examples),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-time",
        str(int(max_time)),
        "--generation-database",
        "none",
        "--no-color",
        "--warnings",
        "off",
        "--report",
        "json",
        "--report-dir",
        str(report_dir),
    ]


def run_schemathesis(base_url: str, authorization: str, examples: int, max_time: float) -> dict:
    """Run st; returns {"exit_code", "generated", "tested", "server_errors": [operation, ...], "output"}."""
    with tempfile.TemporaryDirectory(prefix="eh-fuzz-") as scratch:
        report_dir = Path(scratch)
        completed = subprocess.run(
            schemathesis_command(base_url, authorization, examples, max_time, report_dir),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=max_time + 120,
        )
        reports = sorted(report_dir.glob("*.json"))
        report = json.loads(reports[-1].read_text()) if reports else {}
    server_errors = [
        operation
        for failure in report.get("failures", [])
        if failure.get("type") == "ServerError"
        for operation in failure.get("operations", [])
    ]
    return {
        "exit_code": completed.returncode,
        "generated": report.get("test_cases", {}).get("generated", 0),
        "tested": report.get("operations", {}).get("tested", 0),
        "selected": report.get("operations", {}).get("selected", 0),
        "server_errors": server_errors,
        "output": completed.stdout[-6000:],
    }


# An adversarial request must be answered this fast: evaluation has a one-second budget, publishing none.
ADVERSARIAL_SECONDS = 5.0
DEEP_NESTING = range(254, 1024)
CROSS_PRODUCT_RULE = {"source": ["fuzz.orders"], "detail": {"items": {"sku": ["A1"], "qty": [1], "note": ["x"]}}}


def nested_text(depth: int) -> str:
    """JSON text ``depth`` levels deep, alternating arrays and objects (as text: json.dumps would recurse)."""
    opening = "".join('{"a":' if level % 2 else "[" for level in range(depth))
    closing = "".join("}" if level % 2 else "]" for level in reversed(range(depth)))
    return f'{opening}"leaf"{closing}'


def deep_details(step: int = 1) -> Iterator[tuple[str, str]]:
    """(label, detail as JSON text) such that the whole entry nests ``depth`` levels."""
    for depth in DEEP_NESTING[::step]:
        yield f"depth {depth}", '{"d":' + nested_text(depth - 2) + "}"


def consistency_details() -> Iterator[tuple[str, str]]:
    """Array-consistency shapes: each field of the rule in its own item, many arrays, arrays in arrays."""
    for n in (40, 300, 3000):
        yield f"cross-product n={n}", json.dumps({"items": [{"sku": "A1"}, {"qty": 1}, {"note": "x"}] * n})
    yield "8 arrays", json.dumps({"items": {f"a{a}": [{"x": 1}, {"y": 1}] * 300 for a in range(8)}})
    nested_items = [{"items": [{"sku": "A1"}, {"qty": 1}] * 60} for _ in range(60)]
    yield "arrays in arrays", json.dumps({"items": nested_items})


def adversarial_requests() -> Iterator[tuple[str, str, str, str | dict]]:
    """(label, "http" or "aws", path or AWS operation, JSON body text or AWS parameters)."""
    for label, detail in [*deep_details(step=3), *consistency_details()]:
        entry = f'{{"source":"fuzz.orders","detail-type":"Order","detail":{detail}}}'
        yield f"POST /api/v1/events, {label}", "http", "/api/v1/events", f'{{"entries":[{entry}]}}'
        yield f"POST stream append, {label}", "http", "/api/v1/streams/fuzz/one/events", f'{{"events":[{entry}]}}'
        aws_entry = {"Source": "fuzz.orders", "DetailType": "Order", "Detail": detail}
        yield f"AWS PutEvents, {label}", "aws", "PutEvents", {"Entries": [aws_entry]}
    rule = json.dumps(CROSS_PRODUCT_RULE)
    for label, detail in consistency_details():
        event = f'{{"source":"fuzz.orders","detail":{detail}}}'
        body = f'{{"pattern":{rule},"event":{event}}}'
        yield f"POST /api/v1/patterns/test, {label}", "http", "/api/v1/patterns/test", body
        yield f"AWS TestEventPattern, {label}", "aws", "TestEventPattern", {"EventPattern": rule, "Event": event}
    deep_pattern = f'{{"pattern":{{"x":{nested_text(299)}}},"event":{{"source":"x"}}}}'
    yield "POST /api/v1/patterns/test, 300-deep pattern", "http", "/api/v1/patterns/test", deep_pattern


def _post(base_url: str, authorization: str, path: str, body: str) -> tuple[int, str]:
    request = urllib.request.Request(
        base_url + path,
        data=body.encode(),
        headers={"Authorization": authorization, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def _aws_signer(base_url: str) -> Callable[[str, dict], tuple[int, str]]:
    """Signs AWS JSON requests with a key holding both scopes, through botocore (as the SDKs do)."""
    import botocore.config
    import botocore.session
    from botocore.exceptions import ClientError

    from dashboard.models import ApiKey

    key, secret = ApiKey.issue("fuzz-aws", ["publish", "read"])
    client = botocore.session.get_session().create_client(
        "events",
        endpoint_url=base_url,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"max_attempts": 1}, read_timeout=60),
    )
    methods = {"PutEvents": client.put_events, "TestEventPattern": client.test_event_pattern}

    def send(operation: str, params: dict) -> tuple[int, str]:
        try:
            return 200, json.dumps(methods[operation](**params), default=str)[:200]
        except ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"], str(error)[:200]

    return send


def run_adversarial(base_url: str, authorization: str) -> list[str]:
    """Send every adversarial request; returns one line per 5xx or slow answer (empty when all were fine)."""
    from dashboard.models import Rule

    Rule.objects.create(name="fuzz-cross-product", event_pattern=json.dumps(CROSS_PRODUCT_RULE))
    signer, problems, count = _aws_signer(base_url), [], 0
    for label, kind, target, body in adversarial_requests():
        started = time.perf_counter()
        if kind == "aws":
            status, text = signer(target, body)
        else:
            status, text = _post(base_url, authorization, target, body)
        seconds = time.perf_counter() - started
        count += 1
        if status >= 500 or seconds > ADVERSARIAL_SECONDS:
            problems.append(f"{label}: {status} in {seconds:.1f} s: {text[:160]}")
    print(f"adversarial requests sent: {count}")
    return problems


def server_tracebacks(log_text: str) -> Counter:
    """Distinct last lines of the 500 tracebacks in a Daphne log, with how often each occurred."""
    errors = Counter()
    for block in log_text.split("Internal Server Error: ")[1:]:
        path = block.split("\n", 1)[0]
        last = [line for line in block.splitlines() if re.match(r"^[\w.]+(Error|Exception)\b", line)]
        errors[f"{path}: {last[-1][:160] if last else '?'}"] += 1
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000, help="generated requests per operation")
    parser.add_argument("--max-time", type=float, default=900)
    args = parser.parse_args()
    from . import fixtures
    from .world import World

    with World("fuzz") as world:
        world.stack.start_servers(1)
        authorization = fixtures.bearer_key(("publish", "read", "admin"))
        result = run_schemathesis(world.stack.url, authorization, args.examples, args.max_time)
        adversarial = run_adversarial(world.stack.url, authorization)
        tracebacks = server_tracebacks("".join(p.read_text(errors="replace") for p in world.dir.glob("daphne-*.log")))
    print(result["output"])
    print(f"operations tested: {result['tested']}/{result['selected']}, requests generated: {result['generated']}")
    for line in adversarial:
        print("adversarial:", line)
    if result["server_errors"] or adversarial:
        print("5xx answers from:", ", ".join(result["server_errors"]) or "(adversarial requests only)")
        for line, count in tracebacks.most_common():
            print(f"  {count:>4}x {line}")
        sys.exit(1)
    print("no 5xx answer")


if __name__ == "__main__":
    main()
