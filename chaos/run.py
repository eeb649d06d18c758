"""Run the chaos scenarios and print each one's ledger; exit 1 unless every scenario passes.

    python -m chaos.run                # all of them, full size (`make chaos`), and rewrite docs/reliability.md
    python -m chaos.run T2 T5 --short  # a selection, at the size `make test` uses

Each scenario runs in its own process (it configures Django for its own scratch database) with a time
limit, so one that hangs fails alone instead of stalling the run.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "reliability.md"
TIME_LIMIT_SECONDS = {"short": 240, "full": 420}


def run_one(name: str, short: bool, output: Path) -> None:
    """Child process: run scenario `name` here and write its Result as JSON."""
    from .scenarios import SCENARIOS, Result

    began = time.monotonic()
    try:
        result = SCENARIOS[name](short)
    except Exception as error:  # noqa: BLE001 - any crash of the harness is reported as the scenario's failure
        result = Result(name, name, error=f"{type(error).__name__}: {error}\n{traceback.format_exc()[-3000:]}")
    result.seconds = time.monotonic() - began
    output.write_text(json.dumps(result.as_dict(), default=str))


def run_in_child(name: str, short: bool) -> dict:
    limit = TIME_LIMIT_SECONDS["short" if short else "full"]
    with tempfile.TemporaryDirectory(prefix="eh-chaos-result-") as scratch:
        output = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "chaos.run", "--child", name, "--output", str(output)]
        if short:
            command.append("--short")
        began = time.monotonic()
        try:
            subprocess.run(command, cwd=ROOT, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            return {
                "scenario": name,
                "title": name,
                "passed": False,
                "error": f"time limit {limit} s exceeded",
                "checks": [],
                "verdict": {},
                "facts": {},
                "seconds": limit,
                "skipped": "",
            }
        if not output.exists():
            return {
                "scenario": name,
                "title": name,
                "passed": False,
                "error": "the scenario process died",
                "checks": [],
                "verdict": {},
                "facts": {},
                "seconds": time.monotonic() - began,
                "skipped": "",
            }
        return json.loads(output.read_text())


def print_result(result: dict) -> None:
    status = "SKIP" if result["skipped"] else ("PASS" if result["passed"] else "FAIL")
    print(f"\n== {result['scenario']} {result['title']}: {status} ({result['seconds']:.0f} s)", flush=True)
    if result["skipped"]:
        print(f"   {result['skipped']}")
    if result["verdict"]:
        v = result["verdict"]
        print(
            f"   attempted={v['attempted']} acknowledged={v['acknowledged']} delivered={v['delivered']} "
            f"lost={v['lost']} unexpected={v['unexpected']} duplicated={v['duplicated']} "
            f"recovered={v['recovered']} dead_lettered={v['dead_lettered']}"
        )
    for description, ok, detail in result["checks"]:
        print(f"   [{'ok' if ok else 'FAILED'}] {description}" + (f" ({detail})" if detail else ""))
    if result["error"]:
        print("   ERROR: " + result["error"])
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help="T2 T3 T5 T6 T7 T8 T9 T11 T12 T13 (default: all)")
    parser.add_argument("--short", action="store_true", help="the small version run by `make test`")
    parser.add_argument("--report", action="store_true", help="rewrite docs/reliability.md (default for a full run)")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child, args.short, args.output)
        return
    from .scenarios import SCENARIOS

    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose from {list(SCENARIOS)}")
    began = time.monotonic()
    results = []
    for name in names:
        result = run_in_child(name, args.short)
        print_result(result)
        results.append(result)
    elapsed = time.monotonic() - began
    failed = [r["scenario"] for r in results if not r["passed"] and not r["skipped"]]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed ({elapsed:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.report or (not args.short and not args.scenarios):
        from .report import write_reliability

        write_reliability(REPORT, results, elapsed)
        print(f"wrote {REPORT.relative_to(ROOT)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
