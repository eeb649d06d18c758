"""Short versions of the chaos scenarios (`make chaos` runs them full size): the kill -9 storm (T2), Redis
total loss (T5) and target errors (T8). Each scenario runs in its own process with its own Redis and a
scratch database on the same server as the test database (or a scratch SQLite file), and must come out
with a valid ledger: nothing acknowledged lost, nothing unexpected delivered."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.fault


def run_scenario(name: str, tmp_path: Path) -> dict:
    output = tmp_path / "results.json"
    completed = subprocess.run(
        [sys.executable, "-m", "chaos.run", name, "--short", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert output.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    (result,) = json.loads(output.read_text())
    assert result["passed"], completed.stdout[-4000:]
    return result


def test_worker_kill_storm_loses_nothing(tmp_path):
    verdict = run_scenario("T2", tmp_path)["verdict"]
    assert verdict["lost"] == 0 and verdict["unexpected"] == 0
    assert verdict["delivered"] == verdict["acknowledged"] > 0


def test_redis_total_loss_is_rebuilt_from_the_database(tmp_path):
    verdict = run_scenario("T5", tmp_path)["verdict"]
    assert verdict["lost"] == 0 and verdict["unexpected"] == 0
    assert verdict["delivered"] == verdict["acknowledged"] > 0


def test_target_errors_end_delivered_or_dead_lettered_with_their_reason(tmp_path):
    result = run_scenario("T8", tmp_path)
    assert result["verdict"]["lost"] == 0
    assert result["verdict"]["dead_lettered"] > 0
