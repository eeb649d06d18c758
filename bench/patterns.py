"""Benchmark the event-pattern engine: RuleSet vs evaluating rule by rule vs moto's matcher, and the
worst case one event can ask for (adversarial array-consistency, index and wildcard shapes).

Run from the repository root with ``make bench-patterns`` (or ``python bench/patterns.py``). It prints
a markdown report and writes it to docs/benchmarks/patterns.md. Every measurement runs for about a
second on one core (best of three windows), so the whole run takes well under two minutes.
"""

import datetime
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so dashboard.patterns imports without installing or configuring Django

from dashboard.patterns import InvalidPattern, RuleSet, compile_pattern  # noqa: E402

CORPUS = Path(
    os.environ.get("EVENTHUB_CONFORMANCE") or ROOT.parent / "shared" / "conformance" / "eventbridge_patterns.json"
)
REPORT = ROOT / "docs" / "benchmarks" / "patterns.md"
RULE_COUNTS = (1, 10, 100, 1_000, 10_000)
SECONDS = 1.0  # per measurement
WINDOWS = 3
SEED = 20250601

SOURCES = [f"com.example.{name}" for name in ("orders", "billing", "shipping", "users", "catalog")] + [
    f"aws.{service}" for service in ("ec2", "s3", "rds", "lambda", "ecs", "sqs", "sns", "dynamodb", "iam", "kms")
]
DETAIL_TYPES = [
    f"{noun} {verb}"
    for noun in ("Order", "Invoice", "Shipment", "User", "Item", "Instance", "Bucket", "Table")
    for verb in ("Created", "Updated", "Deleted", "Failed", "Completed")
]
STATUSES = ["pending", "active", "failed", "cancelled", "done", "retrying"]
REGIONS = ["eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1"]


def realistic_rule(rng: random.Random) -> dict:
    """Exact source and detail-type plus one or two content filters, as most real rules look."""
    filters = {
        "region": lambda: [{"prefix": rng.choice(["eu-", "us-", "ap-"])}],
        "amount": lambda: [{"numeric": [">=", rng.randrange(0, 500), "<", rng.randrange(500, 5000)]}],
        "status": lambda: [{"anything-but": rng.sample(STATUSES, 2)}],
        "customer": lambda: {"id": [{"exists": True}]},
    }
    chosen = rng.sample(sorted(filters), rng.choice((1, 2)))
    return {
        "source": [rng.choice(SOURCES)],
        "detail-type": [rng.choice(DETAIL_TYPES)],
        "detail": {name: filters[name]() for name in chosen},
    }


def realistic_event(rng: random.Random, number: int) -> dict:
    detail = {
        "region": rng.choice(REGIONS),
        "amount": round(rng.uniform(0, 6000), 2),
        "status": rng.choice(STATUSES),
        "items": [{"sku": f"SKU-{rng.randrange(1000)}", "qty": rng.randrange(1, 5)} for _ in range(rng.randrange(4))],
    }
    if rng.random() < 0.7:
        detail["customer"] = {"id": f"c-{rng.randrange(10_000)}", "tier": rng.choice(["gold", "basic"])}
    return {
        "version": "0",
        "id": f"evt-{number}",
        "detail-type": rng.choice(DETAIL_TYPES),
        "source": rng.choice(SOURCES),
        "account": "123456789012",
        "time": "2025-06-01T12:00:00Z",
        "region": rng.choice(REGIONS),
        "resources": [f"arn:aws:example:{rng.choice(REGIONS)}:123456789012:thing/{number}"],
        "detail": detail,
    }


def _one_window(work: Callable[[object], object], items: list, seconds: float) -> float:
    done, started = 0, time.perf_counter()
    deadline = started + seconds
    while True:
        for item in items:
            work(item)
            done += 1
            if done % 16 == 0 and time.perf_counter() >= deadline:
                return done / (time.perf_counter() - started)
        if time.perf_counter() >= deadline:
            return done / (time.perf_counter() - started)


def per_second(work: Callable[[object], object], items: list) -> float:
    """Calls of ``work`` per second, cycling through ``items``: the best of three windows that share
    SECONDS, because on a shared machine other work only ever makes a window slower (as with timeit)."""
    return max(_one_window(work, items, SECONDS / WINDOWS) for _ in range(WINDOWS))


def moto_event_pattern():
    """moto's EventBridge pattern class (EventPattern.load(text).matches_event(event)), if installed."""
    try:
        from moto.events.models import EventPattern
    except ImportError:
        return None
    return EventPattern


def rule_count_rows(EventPattern) -> list[dict]:
    rng = random.Random(SEED)
    events = [realistic_event(rng, n) for n in range(2_000)]
    rows = []
    for count in RULE_COUNTS:
        rules_text = [json.dumps(realistic_rule(rng)) for _ in range(count)]
        rule_set = RuleSet()
        started = time.perf_counter()
        compiled = [rule_set.add(index, text) for index, text in enumerate(rules_text)]
        build_seconds = time.perf_counter() - started

        def rule_by_rule(event: dict, patterns: list = compiled) -> set[int]:
            return {index for index, pattern in enumerate(patterns) if pattern.matches(event)}

        row = {
            "rules": count,
            "build_s": build_seconds,
            "ruleset": per_second(rule_set.matching, events),
            "per_rule": per_second(rule_by_rule, events),
            "matches_per_event": sum(len(rule_set.matching(e)) for e in events) / len(events),
            "agreed": all(rule_set.matching(e) == rule_by_rule(e) for e in events[:200]),
            "moto": None,
        }
        if EventPattern is not None:
            moto_patterns = [EventPattern.load(text) for text in rules_text]
            row["moto"] = per_second(lambda e, ps=moto_patterns: [p.matches_event(e) for p in ps], events)
        rows.append(row)
        print(f"  {count:>6} rules measured", file=sys.stderr)
    return rows


def _text(case: dict) -> str:
    return case["pattern"] if isinstance(case["pattern"], str) else json.dumps(case["pattern"])


def corpus_verdict(case: dict, compile_and_match: Callable[[str, dict], bool]) -> str:
    try:
        return "match" if compile_and_match(_text(case), case["event"]) else "nomatch"
    except InvalidPattern:
        return "invalid"
    except Exception as error:  # noqa: BLE001 - the engine under test may fail in any way; that is a result
        return "invalid" if type(error).__name__ == "InvalidEventPatternException" else f"error: {error!r}"


def corpus_rows(EventPattern) -> list[dict]:
    cases = json.loads(CORPUS.read_text(encoding="utf-8"))
    engines: dict[str, Callable[[str, dict], bool]] = {
        "ours (compile_pattern)": lambda text, event: compile_pattern(text).matches(event)
    }
    if EventPattern is not None:
        engines["moto (EventPattern)"] = lambda text, event: EventPattern.load(text).matches_event(event)
    verdicts = {name: [corpus_verdict(case, engine) for case in cases] for name, engine in engines.items()}
    # Speed is timed on the same cases for every engine: valid ones that every engine runs without error.
    timed = [
        (_text(case), case["event"])
        for index, case in enumerate(cases)
        if all(verdicts[name][index] in ("match", "nomatch") for name in engines) and case["expected"] != "invalid"
    ]
    rows = [
        {
            "engine": "ours (compile_pattern)",
            "rate": per_second(lambda pair: pair[0].matches(pair[1]), [(compile_pattern(t), e) for t, e in timed]),
        }
    ]
    if EventPattern is not None:
        loaded = [(EventPattern.load(t), e) for t, e in timed]
        rows.append(
            {"engine": "moto (EventPattern)", "rate": per_second(lambda pair: pair[0].matches_event(pair[1]), loaded)}
        )
    for row in rows:
        row["correct"] = sum(v == case["expected"] for v, case in zip(verdicts[row["engine"]], cases, strict=True))
        row["cases"] = len(cases)
        row["timed_cases"] = len(timed)
    return rows


# --- Adversarial shapes: the worst case one event or one request can ask of the engine ---------------

# A call slower than this stops its case from growing further (the next size would only be slower).
ADVERSARIAL_STOP_SECONDS = 1.0
ENTRY_LIMIT = 256 * 1024  # bytes of JSON in one published entry


def _orders_rule(fields: dict) -> dict:
    return {"source": ["shop.orders"], "detail": {"items": {name: [value] for name, value in fields.items()}}}


def _split_items(fields: dict, n: int) -> dict:
    """An order whose items each hold one of the rule's fields, so no single item satisfies the rule."""
    items = [{name: value} for _ in range(n) for name, value in fields.items()]
    return {"source": "shop.orders", "detail-type": "Order Created", "detail": {"items": items}}


def _many_arrays(arrays: int, fields: int) -> Callable[[int], tuple[dict, dict]]:
    """``arrays`` arrays of n elements; every array but the last has an element holding all ``fields``
    (at its end), the last never does: a backtracking matcher tries every combination before saying no."""
    names = [f"f{i}" for i in range(fields)]

    def build(n: int) -> tuple[dict, dict]:
        detail = {}
        for a in range(arrays):
            items = [{name: 1} for _ in range(n) for name in names]
            if a < arrays - 1:
                items.append(dict.fromkeys(names, 1))
            detail[f"a{a}"] = items
        rule = {"detail": {f"a{a}": dict.fromkeys(names, [1]) for a in range(arrays)}}
        return rule, {"source": "x", "detail": detail}

    return build


def _nested_arrays(n: int) -> tuple[dict, dict]:
    """Arrays inside array elements, the rule's two fields always in different inner elements."""
    outer = [{"lines": [{"sku": "A1"}, {"qty": 1}] * n} for _ in range(n)]
    return {"detail": {"orders": {"lines": {"sku": ["A1"], "qty": [1]}}}}, {"source": "x", "detail": {"orders": outer}}


def _distinct_pairs(n: int) -> tuple[dict, dict]:
    """Two arrays of n distinct values, for an index filing rules under pairs of exact values."""
    event = {"source": "x", "detail": {"a": [f"a{i}" for i in range(n)], "b": [f"b{i}" for i in range(n)]}}
    return {"detail": {"a": ["a-none"], "b": ["b-none"]}}, event


def _long_wildcard(n: int) -> tuple[dict, dict]:
    """A value of n characters that almost matches a wildcard with many stars."""
    pieces = ["k0", "k1", "k2"]  # AWS's complexity limit refuses many more stars on one field
    value = "".join(f"{'x' * (n // 3)}{piece}" for piece in pieces[:-1]) + "x" * (n // 3)
    return {"detail": {"text": [{"wildcard": "*" + "*".join(pieces) + "*"}]}}, {"detail": {"text": value}}


def _long_anything_but(n: int) -> tuple[dict, dict]:
    """Long values against many anything-but wildcards and case-insensitive prefixes."""
    rule = {
        "detail": {
            "text": [{"anything-but": {"wildcard": [f"*z{i}" for i in range(4)]}}],
            "name": [{"prefix": {"equals-ignore-case": "Ab" * 500}}],
        }
    }
    return rule, {"detail": {"text": ["y" * n] * 4, "name": ["aB" * (n // 2)] * 4}}


def _deep_chain(n: int) -> tuple[dict, dict]:
    """n leaves at the bottom of arrays nested 240 deep, next to an object in the outer array."""
    inner: list = [0] * n
    for _ in range(240):
        inner = [inner, 1]
    return {"a": [0], "a.x": [2]}, {"a": [{"x": 1}, inner]}


def _fits(event: dict) -> bool:
    return len(json.dumps(event)) <= ENTRY_LIMIT


def adversarial_cases() -> list[tuple[str, Callable[[int], tuple[dict, dict]], tuple[int, ...]]]:
    two, three = {"sku": "A1", "qty": 1}, {"sku": "A1", "qty": 1, "note": "gift"}
    return [
        (
            "cross-product, 2 fields (issue 10)",
            lambda n: (_orders_rule(two), _split_items(two, n)),
            (20, 40, 300, 1_000, 10_000),
        ),
        ("cross-product, 3 fields", lambda n: (_orders_rule(three), _split_items(three, n)), (10, 20, 40, 300, 5_000)),
        ("3 arrays x 2 conditions", _many_arrays(3, 2), (5, 10, 20, 40, 300, 3_000)),
        ("8 arrays x 8 conditions", _many_arrays(8, 8), (2, 4, 8, 16, 32, 256)),
        ("arrays inside arrays", _nested_arrays, (5, 10, 20, 40, 80, 200)),
        ("pair index, distinct values", _distinct_pairs, (100, 1_000, 10_000)),
        ("arrays nested 240 deep", _deep_chain, (1_000, 10_000, 60_000)),
        ("long wildcard value", _long_wildcard, (1_000, 10_000, 200_000)),
        ("long anything-but / ignore-case values", _long_anything_but, (1_000, 10_000, 50_000)),
    ]


# The same cases on the engine before issue 10 (main of 2026-12-06, same machine): the slowest call
# measured before a case stopped growing (each size doubled the time or worse, so larger ones were not run).
BEFORE_ISSUE_10 = {
    "cross-product, 2 fields (issue 10)": "n=40: 1.42 s (RuleSet; O(N^4)); Pattern.matches n=1000: 4.37 s",
    "cross-product, 3 fields": "n=40: 3.20 s",
    "3 arrays x 2 conditions": "n=40: 11.0 s",
    "8 arrays x 8 conditions": "n=16: 0.81 to 4.77 s",
    "arrays inside arrays": "n=5: 1.61 s",
    "pair index, distinct values": "n=10,000: 91.4 s (RuleSet; every pair of values looked up)",
    "arrays nested 240 deep": "n=60,000: 3.64 s (Pattern.matches), 0.85 s (RuleSet)",
    "long wildcard value": "n=200,000: 0.0002 s",
    "long anything-but / ignore-case values": "n=10,000: under 0.0001 s",
}


def _seconds(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def adversarial_rows() -> list[dict]:
    """Per case and size: one RuleSet.matching and one Pattern.matches call, in seconds. A case stops
    growing once a call takes over ADVERSARIAL_STOP_SECONDS, and sizes whose event exceeds 256 KB are skipped."""
    rows = []
    for name, build, sizes in adversarial_cases():
        for n in sizes:
            rule, event = build(n)
            if not _fits(event):
                continue
            rule_set = RuleSet()
            rule_set.add("rule", rule)
            pattern = compile_pattern(rule)
            row = {
                "case": name,
                "n": n,
                "kb": len(json.dumps(event)) / 1024,
                "ruleset_s": _seconds(lambda: rule_set.matching(event)),  # noqa: B023 - called right here
                "pattern_s": _seconds(lambda: pattern.matches(event)),  # noqa: B023
                "agreed": rule_set.matching(event) == ({"rule"} if pattern.matches(event) else set()),
            }
            rows.append(row)
            print(f"  {name}, n={n}: {max(row['ruleset_s'], row['pattern_s']):.4f} s", file=sys.stderr)
            if max(row["ruleset_s"], row["pattern_s"]) > ADVERSARIAL_STOP_SECONDS:
                break
    return rows


def render_adversarial(rows: list[dict]) -> list[str]:
    worst = max(rows, key=lambda row: max(row["ruleset_s"], row["pattern_s"]))
    lines = [
        "## Adversarial shapes (worst case per event)",
        "",
        "Each case grows until a call takes over a second or the event exceeds the 256 KB entry limit; one",
        "rule, one call each of `RuleSet.matching` and `Pattern.matches` per size. Cross-product: the rule",
        '`{"source":["shop.orders"],"detail":{"items":{"sku":["A1"],"qty":[1]}}}` against items that each hold',
        "only one of the fields, n times. Many arrays: every array but the last has one element holding all",
        "the fields. Pair index: two arrays of n distinct values at paths a rule files as an exact pair.",
        "",
        "| Case | n | Event KB | RuleSet.matching | Pattern.matches | Same verdict | Before issue 10 |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row['n']:,} | {row['kb']:,.1f} | {row['ruleset_s']:.4f} s | {row['pattern_s']:.4f} s "
            f"| {'yes' if row['agreed'] else '**NO**'} | {BEFORE_ISSUE_10.get(row['case'], '')} |"
        )
    lines += [
        "",
        f"Worst case: {worst['case']}, n={worst['n']:,} ({worst['kb']:,.0f} KB): "
        f"{max(worst['ruleset_s'], worst['pattern_s']):.3f} s.",
        "",
    ]
    return lines


def render(
    rule_rows: list[dict], corpus: list[dict], moto_version: str | None, adversarial: list[dict] | None = None
) -> str:
    def rate(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.0f}"

    lines = [
        "# Event-pattern engine benchmark",
        "",
        f"- Date: {datetime.date.today().isoformat()}",
        f"- Machine: {os.cpu_count()} cores ({platform.machine()}, {platform.system()}); every measurement "
        "uses one core",
        f"- Python: {platform.python_version()} ({platform.python_implementation()})",
        f"- moto: {moto_version or 'not installed'}",
        "- Command: `make bench-patterns` (runs `python bench/patterns.py`, which rewrites this file)",
        "",
        "## Events per second by number of rules",
        "",
        "Each rule has an exact `source` and `detail-type` (15 sources, 40 detail types) plus one or two",
        "content filters drawn from: a prefix on `detail.region`, a numeric range on `detail.amount`, an",
        "anything-but list on `detail.status`, `exists` on `detail.customer.id`. Events are EventBridge",
        "envelopes with a small `detail` (including an array of objects) drawn from the same vocabularies.",
        "",
        "- **RuleSet**: `RuleSet.matching(event)`, the compiled index.",
        "- **Per rule (ours)**: `[p for p in patterns if p.matches(event)]` with our compiled patterns.",
        "- **Per rule (moto)**: `EventPattern.matches_event(event)` for each rule, moto's matcher.",
        "",
        "| Rules | RuleSet events/s | Per rule (ours) events/s | Per rule (moto) events/s "
        "| RuleSet vs per rule | Matches per event | Build time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rule_rows:
        lines.append(
            f"| {row['rules']:,} | {rate(row['ruleset'])} | {rate(row['per_rule'])} | {rate(row['moto'])} "
            f"| {row['ruleset'] / row['per_rule']:,.0f}x | {row['matches_per_event']:.2f} "
            f"| {row['build_s']:.2f} s |"
        )
    by_count = {row["rules"]: row for row in rule_rows}
    ours, moto = corpus[0].get("rate"), (corpus[1].get("rate") if len(corpus) > 1 else None)
    targets = [
        ("1,000 rules: at least 50,000 events/s", by_count[1_000]["ruleset"] >= 50_000),
        (
            "1,000 rules: at least 50x faster than rule by rule",
            by_count[1_000]["ruleset"] >= 50 * by_count[1_000]["per_rule"],
        ),
        ("10,000 rules: at least 20,000 events/s", by_count[10_000]["ruleset"] >= 20_000),
        ("one pattern: at least as fast as moto's matcher", moto is None or ours >= moto),
    ]
    lines += [
        "",
        "RuleSet and per-rule evaluation returned the same rule ids on every sampled event: "
        + ("yes." if all(row["agreed"] for row in rule_rows) else "**NO** (a bug: investigate)."),
        "",
        "## One pattern at a time, and correctness on the AWS-validated corpus",
        "",
        f"Speed: each engine's precompiled pattern matched against its own event, cycling over the "
        f"{corpus[0]['timed_cases']} corpus cases that every engine can compile and run without error. "
        "Correctness: verdicts (match / nomatch / invalid) equal to AWS's on the 161 cases of "
        "`shared/conformance/eventbridge_patterns.json`.",
        "",
        "| Engine | Single-pattern matches/s | Corpus cases correct |",
        "|---|---:|---:|",
    ]
    for row in corpus:
        lines.append(f"| {row['engine']} | {rate(row.get('rate'))} | {row['correct']} / {row['cases']} |")
    if adversarial:
        targets.append(
            (
                "adversarial shapes: every call under a second up to 256 KB",
                all(max(row["ruleset_s"], row["pattern_s"]) < ADVERSARIAL_STOP_SECONDS for row in adversarial),
            )
        )
        lines += ["", *render_adversarial(adversarial)]
    lines += ["", "## Targets (one core)", ""]
    lines += [f"- {'met' if met else '**missed**'}: {target}" for target, met in targets]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    EventPattern = moto_event_pattern()
    moto_version = None
    if EventPattern is not None:
        import moto

        moto_version = moto.__version__
    print("measuring rule counts...", file=sys.stderr)
    rule_rows = rule_count_rows(EventPattern)
    print("measuring the corpus...", file=sys.stderr)
    corpus = corpus_rows(EventPattern)
    print("measuring adversarial shapes...", file=sys.stderr)
    adversarial = adversarial_rows()
    report = render(rule_rows, corpus, moto_version, adversarial)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
