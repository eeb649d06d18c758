"""The peer a Django team would otherwise pick for dispatch: Celery 5 with a no-op task on the same Redis.

    python bench/celery_peer.py --redis redis://127.0.0.1:6379/1 --workers 2 --tasks 20000

Enqueues the tasks first, then starts a prefork worker with `--concurrency` = worker processes and
times the queue draining in steady state (tasks/s while the queue goes from 90 % to 10 % full).
Celery's defaults are kept (prefetch multiplier 4, acks early) except results, which a dispatch task
would not store.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]

app = Celery("eventhub_bench_peer", broker=os.environ.get("EVENTHUB_BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/1"))
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)


@app.task(name="noop")
def noop() -> None:
    """Does nothing: what is measured is Celery's own cost per task."""


def measure(broker_url: str, workers: int, tasks: int, timeout: float = 120.0) -> dict:
    app.conf.broker_url = broker_url
    queue = redis.Redis.from_url(broker_url)
    queue.delete("celery")
    began = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            noop.apply_async(producer=producer)
    enqueue_s = time.perf_counter() - began
    env = dict(os.environ, EVENTHUB_BENCH_CELERY_BROKER=broker_url, PYTHONPATH=str(ROOT))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.celery_peer", "worker", "--pool", "prefork",
         "--concurrency", str(workers), "--without-heartbeat", "--without-gossip", "--without-mingle",
         "--loglevel", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        # Timed between 10 % and 90 % of the queue taken: steady state, without the pool's start-up
        # (forking children) or the last prefetched tasks in the figure.
        deadline = time.monotonic() + timeout
        while queue.llen("celery") > tasks * 0.9 and time.monotonic() < deadline:
            time.sleep(0.005)
        first, left_at_first = time.perf_counter(), queue.llen("celery")
        while queue.llen("celery") > tasks * 0.1 and time.monotonic() < deadline:
            time.sleep(0.005)
        last, left_at_last = time.perf_counter(), queue.llen("celery")
        while queue.llen("celery") > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        queue_left = queue.llen("celery")
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        queue.delete("celery")
        queue.close()
    return {
        "workers": workers,
        "tasks": tasks,
        "enqueue_per_s": tasks / enqueue_s,
        "drained": queue_left == 0,
        "tasks_per_s": (left_at_first - left_at_last) / (last - first) if last > first else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=20_000)
    args = parser.parse_args()
    print(json.dumps(measure(args.redis, args.workers, args.tasks)))


if __name__ == "__main__":
    main()
