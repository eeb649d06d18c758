"""What validation at publish costs: the publish knee with no schema, then with `enforce` on every event.

    python bench/schema_validation.py [--batch 10] [--concurrency 4,16,32] [--seconds 5] [--order off,enforce]
    python bench/schema_validation.py --micro

Runs bench/publish.py's measurement on fresh stacks, without a schema and with a schema for the benchmark's
events (bench/Tick, every field typed, `enforce`) registered before the clients start, so every entry is
validated. On a shared machine the knee moves by more than validation costs, so --micro also measures the
work validation adds to each entry in-process: parse_entry alone, then parse_entry and the schema check.
"""

import argparse
import json
import os
import subprocess
import sys
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import publish  # noqa: E402

TICK_SCHEMA = {
    "type": "object",
    "required": ["n", "total"],
    "properties": {"n": {"type": "integer", "minimum": 0}, "total": {"type": "integer", "minimum": 0}},
    "additionalProperties": False,
}
ENFORCE = f"""
from dashboard.schemas.registry import Kind, configure, register_version
kind = Kind("default", "bench", "Tick")
register_version(kind, {TICK_SCHEMA!r})
configure(kind, validation="enforce")
"""


def _issue_key_with_schema(env: dict) -> dict:
    subprocess.run([sys.executable, "manage.py", "shell", "-c", ENFORCE], cwd=ROOT, env=env, check=True)
    return _issue_key(env)


_issue_key = publish.issue_key


def micro(rounds: int = 20000) -> None:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventhub.settings")
    import django

    django.setup()
    from dashboard.ingest.publishing import parse_entry
    from dashboard.schemas.validation import SchemaCheck, _Compiled, compile_validator

    entries = json.loads(publish.native_body(10))["entries"]
    compiled = _Compiled(1, 1, "enforce", compile_validator(TICK_SCHEMA))
    check = SchemaCheck({("default", "bench", "Tick"): compiled})
    drafts = [parse_entry(e) for e in entries]
    parse_only = timeit.timeit(lambda: [parse_entry(e) for e in entries], number=rounds) / rounds / len(entries)
    checked = timeit.timeit(lambda: [check.check(d) for d in drafts], number=rounds) / rounds / len(drafts)
    print(f"parse_entry {parse_only * 1e6:.2f} us per entry; the enforce check adds {checked * 1e6:.2f} us per entry")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", default="4,16,32")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--order", default="off,enforce", help="which series first (they alternate with noise)")
    parser.add_argument("--micro", action="store_true", help="only the in-process cost per entry")
    args = parser.parse_args()
    if args.micro:
        micro()
        return
    levels = [int(c) for c in args.concurrency.split(",")]
    knees = {}
    for label in args.order.split(","):
        publish.issue_key = _issue_key_with_schema if label == "enforce" else _issue_key
        print(f"-- {label}", flush=True)
        knees[label] = publish.measure(args.batch, levels, args.seconds)["knee"]
    off, on = knees.get("off"), knees.get("enforce")
    if off and on:
        change = 100 * (on["events_per_s"] / off["events_per_s"] - 1)
        before, after = off["events_per_s"], on["events_per_s"]
        print(f"knee without schema {before:.0f} events/s, with enforce {after:.0f} ({change:+.1f} %)")


if __name__ == "__main__":
    main()
