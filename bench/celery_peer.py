"""The peer a Django team would otherwise pick for dispatch: Celery 5 on the same Redis, in two forms.

    python bench/celery_peer.py --redis redis://127.0.0.1:6379/1 --workers 2 --tasks 20000
    python bench/celery_peer.py --deliver --workers 2 --tasks 20000     # DATABASE_URL: PostgreSQL, else SQLite

Enqueues the tasks first, then starts a prefork worker with `--concurrency` = worker processes and
times the queue draining in steady state (tasks/s while the queue goes from 90 % to 10 % full).
Celery's defaults are kept (prefetch multiplier 4; acks early for the no-op task) except results,
which a dispatch task would not store.

The no-op task measures Celery's own cost per task. `--deliver` measures the same job as EventHub's
dispatch worker, written the way a Django team would write it: a `deliver` task that POSTs the event
(signed with Standard Webhooks headers) with a pooled urllib3 client to `chaos/receiver.py`, then
records the outcome on the delivery's row through the Django ORM (status, attempt count, response
status, completed time; a retry with backoff on failure), acknowledged late so a crash does not lose
it. It runs privately: its own Redis, a scratch database (as `bench/delivery.py` makes one) holding
only the peer's table, EventHub's settings (so the same database pool and options). The event body
travels in the message, so the task does not read the database: the cheapest form of this peer.
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import redis
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

app = Celery("eventhub_bench_peer", broker=os.environ.get("EVENTHUB_BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/1"))
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True, worker_hijack_root_logger=False)
# Celery's Django fix-up closes the database connections around every task; with EventHub's psycopg pool
# it closes the whole pool (Celery 5.7, prefork), so each task would connect anew (~6 ms of CPU). A team
# would notice and keep connections: closed (and the pool recycled) only every 2,000 tasks here.
app.conf.CELERY_DB_REUSE_MAX = 1000

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@app.task(name="noop")
def noop() -> None:
    """Does nothing: what is measured is Celery's own cost per task."""


@functools.cache
def _http():
    """One connection pool per worker process, kept alive between tasks."""
    import urllib3

    return urllib3.PoolManager(maxsize=4, retries=False, timeout=urllib3.Timeout(total=10))


@functools.cache
def delivery_model():
    """The row a Django team would keep per webhook delivery (defined on first use: Django is set up by
    then, by Celery's Django fix-up in the worker and by `measure_delivering` in this process)."""
    from django.db import models

    class PeerDelivery(models.Model):
        url = models.URLField()
        status = models.CharField(max_length=16, default="pending")
        attempts = models.PositiveIntegerField(default=0)
        response_status = models.PositiveSmallIntegerField(null=True)
        completed_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "bench_peer"
            db_table = "bench_peer_delivery"

        def __str__(self) -> str:
            return f"delivery {self.pk} to {self.url}: {self.status}"

    return PeerDelivery


@app.task(name="deliver", bind=True, acks_late=True, max_retries=5)
def deliver(self, delivery_id: int, url: str, body: str) -> None:
    """POST the event, then record the outcome on the delivery's row; retry with backoff on failure."""
    import urllib3
    from django.db.models import F
    from django.utils import timezone

    from dashboard.delivery.signing import signed_headers

    payload = body.encode()
    headers = {"Content-Type": "application/json"}
    headers |= signed_headers(WEBHOOK_SECRET, f"msg_{delivery_id}", int(time.time()), payload)
    try:
        status = _http().request("POST", url, body=payload, headers=headers, redirect=False).status
    except urllib3.exceptions.HTTPError:
        status = None
    succeeded = status is not None and 200 <= status < 300
    delivery_model().objects.filter(pk=delivery_id).update(
        status="succeeded" if succeeded else "failed",
        attempts=F("attempts") + 1,
        response_status=status,
        completed_at=timezone.now(),
    )
    if not succeeded:
        raise self.retry(countdown=2**self.request.retries)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the prefork pool), from /proc."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total + sum(_cpu_seconds(int(child)) for child in children)


def _drain(queue: redis.Redis, tasks: int, env: dict, workers: int, timeout: float) -> dict:
    """Start the prefork worker on the filled queue and time it draining, between 90 % and 10 % left."""
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
        first, left_at_first, cpu_at_first = time.perf_counter(), queue.llen("celery"), _cpu_seconds(worker.pid)
        while queue.llen("celery") > tasks * 0.1 and time.monotonic() < deadline:
            time.sleep(0.005)
        last, left_at_last, cpu_at_last = time.perf_counter(), queue.llen("celery"), _cpu_seconds(worker.pid)
        while queue.llen("celery") > 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        queue_left = queue.llen("celery")
        # Tasks taken from the queue may still be running (prefetched): let the last ones finish.
        time.sleep(1.0)
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    taken = left_at_first - left_at_last
    return {
        "workers": workers,
        "tasks": tasks,
        "drained": queue_left == 0,
        "tasks_per_s": taken / (last - first) if last > first else float("nan"),
        "worker_cpu_ms_per_task": 1000 * (cpu_at_last - cpu_at_first) / taken if taken else float("nan"),
    }


def measure(broker_url: str, workers: int, tasks: int, timeout: float = 120.0) -> dict:
    """The no-op peer."""
    app.conf.broker_url = broker_url
    queue = redis.Redis.from_url(broker_url)
    queue.delete("celery")
    began = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(tasks):
            noop.apply_async(producer=producer)
    enqueue_s = time.perf_counter() - began
    env = dict(os.environ, EVENTHUB_BENCH_CELERY_BROKER=broker_url, PYTHONPATH=str(ROOT))
    try:
        return {"enqueue_per_s": tasks / enqueue_s} | _drain(queue, tasks, env, workers, timeout)
    finally:
        queue.delete("celery")
        queue.close()


def _envelope(number: int) -> str:
    """An event as the bench's EventHub runs deliver it (an EventBridge envelope with a small detail)."""
    return json.dumps(
        {"version": "0", "id": f"evt-{number}", "detail-type": "Tick", "source": "bench", "account": "000000000000",
         "time": "2026-12-06T21:00:00Z", "region": "local-1", "resources": [], "detail": {"n": number}}
    )  # fmt: skip


def measure_delivering(database_url: str | None, workers: int, tasks: int, timeout: float = 300.0) -> dict:
    """The delivering peer, in a private Redis, scratch database and receiver (call it in a process of its
    own: it sets Django up for that database)."""
    from bench.delivery import start_receiver
    from chaos.services import PrivateRedis, base_env, run_directory, scratch_database

    with run_directory("eh-bench-celery-deliver-") as workdir:
        redis_server = PrivateRedis(workdir / "redis").start()
        receiver_process, receiver = start_receiver(workdir)
        try:
            with scratch_database(database_url, workdir) as database:
                broker = redis_server.url.rsplit("/", 1)[0] + "/1"
                env = base_env(database, redis_server.url) | {
                    "EVENTHUB_BENCH_CELERY_BROKER": broker,
                    "PYTHONPATH": str(ROOT),
                }
                os.environ.update(env)
                import django

                django.setup()
                from django.db import connection, connections

                model = delivery_model()
                with connection.schema_editor() as editor:
                    editor.create_model(model)
                url = f"{receiver}/t/peer"
                rows = model.objects.bulk_create([model(url=url) for _ in range(tasks)], batch_size=1000)
                connections.close_all()
                app.conf.broker_url = broker
                queue = redis.Redis.from_url(broker)
                with app.producer_or_acquire() as producer:
                    for row in rows:
                        deliver.apply_async((row.pk, url, _envelope(row.pk)), producer=producer)
                try:
                    result = _drain(queue, tasks, env, workers, timeout)
                finally:
                    queue.delete("celery")
                    queue.close()
                result |= {
                    "database": database.split(":", 1)[0],
                    "succeeded": model.objects.filter(status="succeeded").count(),
                }
                connections.close_all()
                return result
        finally:
            receiver_process.terminate()
            receiver_process.wait(10)
            redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--deliver", action="store_true", help="the delivering peer (POST + record) instead of no-op")
    args = parser.parse_args()
    if args.deliver:
        print(json.dumps(measure_delivering(os.environ.get("DATABASE_URL"), args.workers, args.tasks)))
    else:
        print(json.dumps(measure(args.redis, args.workers, args.tasks)))


if __name__ == "__main__":
    main()
