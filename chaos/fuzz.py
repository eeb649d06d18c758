"""Schemathesis against the live API's own OpenAPI description: no generated request may get a 5xx.

    python -m chaos.fuzz [--examples 1000] [--max-time 900]     # `make fuzz`

Starts its own stack (private Redis, scratch database, one Daphne), issues a key with every scope, runs
`st run` over every operation in /api/v1/openapi.json with the `not_a_server_error` check, and prints
which operations answered 5xx, with the server's traceback lines for each distinct error.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
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
        tracebacks = server_tracebacks("".join(p.read_text(errors="replace") for p in world.dir.glob("daphne-*.log")))
    print(result["output"])
    print(f"operations tested: {result['tested']}/{result['selected']}, requests generated: {result['generated']}")
    if result["server_errors"]:
        print("5xx answers from:", ", ".join(result["server_errors"]))
        for line, count in tracebacks.most_common():
            print(f"  {count:>4}x {line}")
        sys.exit(1)
    print("no 5xx answer")


if __name__ == "__main__":
    main()
