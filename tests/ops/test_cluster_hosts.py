"""EventHub on several hosts (network namespaces on this machine, `python -m chaos.cluster --short`): with
one host cut off for longer than the visibility timeout and then restored, nothing acknowledged is lost,
another host takes over what the cut host held, and the cut host serves again afterwards. `make cluster`
runs the full size and rewrites docs/benchmarks/cluster.md.

Needs root and `ip netns` (as CI has); skips with the reason elsewhere.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.cluster import network
from chaos.services import PrivatePostgres

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(
        bool(reason := network.unavailable() or PrivatePostgres.available()), reason=f"multi-host test: {reason}"
    ),
]


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory) -> dict:
    output = tmp_path_factory.mktemp("cluster") / "results.json"
    tag = str(os.getpid())
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos.cluster", "--short", "--json", str(output), "--tag", tag],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        log, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)  # the run cleans up on SIGTERM
        log, _ = process.communicate(timeout=60)
    finally:
        network.remove(tag)  # whatever a killed run left behind
    assert output.exists(), log[-4000:]
    results = json.loads(output.read_text())
    results["log"] = log
    return results


def check(results: dict, starting: str) -> tuple[bool, str]:
    (found,) = [(ok, detail) for what, ok, detail in results["partition"]["checks"] if what.startswith(starting)]
    return found


def test_nothing_acknowledged_is_lost_when_a_host_is_cut_off(cluster_run):
    verdict = cluster_run["partition"]["verdict"]
    assert verdict["lost"] == 0 and verdict["unexpected"] == 0, cluster_run["log"][-3000:]
    assert verdict["delivered"] == verdict["acknowledged"] > 0


def test_another_host_takes_over_what_the_cut_host_held(cluster_run):
    for starting in ("h1 cut: it held", "h1 cut: another host claimed", "h1 cut: every delivery it held"):
        ok, detail = check(cluster_run, starting)
        assert ok, f"{starting}: {detail}\n{cluster_run['log'][-3000:]}"


def test_the_cut_host_serves_and_delivers_again_once_restored(cluster_run):
    ok, detail = check(cluster_run, "h1 restored")
    assert ok, detail


def test_two_worker_hosts_drain_a_burst_without_losing_any(cluster_run):
    for burst in cluster_run["throughput"]:
        assert burst["delivered"] == burst["acknowledged"] == burst["events"], burst
        assert burst["deliveries_per_s"] > 0
