"""An open-loop load generator that records every publish attempt and its outcome (the ledger's input).

Each entry carries its own id (the API stores a supplied id, so a retry cannot duplicate it) and the
send time in `detail.sent_at`, which lets the receiver measure publish-to-delivery latency on the
same clock. Requests leave on a fixed schedule (an offered rate), not when the previous one answers,
so a slow server shows up as latency instead of silently lowering the load.
"""

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field

import aiohttp
import orjson

ACK, REJECTED, UNKNOWN = "ack", "rejected", "unknown"


@dataclass
class Attempt:
    """One entry sent: `ack` (the API returned its event id), `rejected` (an error answer: not stored,
    or at least never promised) or `unknown` (no answer: timeout, reset, server gone)."""

    event_id: str
    sent_at: float
    outcome: str = UNKNOWN
    status: int | None = None
    error: str = ""
    latency_ms: float | None = None


@dataclass
class LoadPlan:
    url: str
    authorization: str
    rate: float  # events per second offered
    total_events: int | None = None
    seconds: float | None = None
    batch: int = 10
    max_in_flight: int = 256
    timeout: float = 10.0
    prefix: str = "ev"
    detail: dict = field(default_factory=dict)
    detail_type: str = "ChaosTick"


class LoadRun:
    """Runs a LoadPlan on its own thread and event loop, so a scenario can inject faults meanwhile."""

    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.attempts: list[Attempt] = []
        self.behind_schedule = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="loadgen", daemon=True)

    def start(self) -> "LoadRun":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> list[Attempt]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("load generator did not finish")
        return self.attempts

    @property
    def acknowledged(self) -> int:
        return sum(a.outcome == ACK for a in self.attempts)

    async def _run(self) -> None:
        plan = self.plan
        interval = plan.batch / plan.rate
        started = time.monotonic()
        deadline = started + plan.seconds if plan.seconds else float("inf")
        in_flight = asyncio.Semaphore(plan.max_in_flight)
        sent = 0
        tasks: set[asyncio.Task] = set()
        connector = aiohttp.TCPConnector(limit=plan.max_in_flight, force_close=False)
        async with aiohttp.ClientSession(connector=connector) as session:
            for number in itertools.count():
                if self._stop.is_set() or time.monotonic() >= deadline:
                    break
                if plan.total_events is not None and sent >= plan.total_events:
                    break
                due = started + number * interval
                pause = due - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                size = plan.batch if plan.total_events is None else min(plan.batch, plan.total_events - sent)
                if in_flight.locked():
                    self.behind_schedule += 1
                await in_flight.acquire()
                task = asyncio.create_task(self._send(session, number, size, in_flight))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += size
            if tasks:
                await asyncio.gather(*tasks)

    async def _send(self, session: aiohttp.ClientSession, number: int, size: int, in_flight) -> None:
        plan = self.plan
        sent_at = time.time()
        attempts = [Attempt(f"{plan.prefix}-{number:07d}-{i}", sent_at) for i in range(size)]
        self.attempts.extend(attempts)
        body = orjson.dumps(
            [
                {
                    "id": attempt.event_id,
                    "source": "chaos.load",
                    "detail-type": plan.detail_type,
                    "detail": {"sent_at": sent_at, "n": number, **plan.detail},
                }
                for attempt in attempts
            ]
        )
        headers = {"Authorization": plan.authorization, "Content-Type": "application/json"}
        began = time.perf_counter()
        try:
            async with session.post(
                plan.url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=plan.timeout)
            ) as response:
                answer = await response.read()
                _record_answer(attempts, response.status, answer)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            for attempt in attempts:
                attempt.error = f"{type(error).__name__}: {error}"[:200]
        finally:
            elapsed = (time.perf_counter() - began) * 1000
            for attempt in attempts:
                attempt.latency_ms = elapsed
            in_flight.release()


def _record_answer(attempts: list[Attempt], status: int, answer: bytes) -> None:
    """Per-entry results when the API gave them; otherwise the whole request failed (or is unknown on 5xx)."""
    try:
        payload = orjson.loads(answer)
    except orjson.JSONDecodeError:
        payload = None
    entries = payload.get("entries") if isinstance(payload, dict) else None
    for index, attempt in enumerate(attempts):
        attempt.status = status
        result = entries[index] if isinstance(entries, list) and index < len(entries) else None
        if status == 200 and isinstance(result, dict) and result.get("event_id") == attempt.event_id:
            attempt.outcome = ACK
        elif status >= 500:
            # A 5xx may come from a proxy after the server committed: we cannot know, like a timeout.
            attempt.outcome = UNKNOWN
            attempt.error = f"HTTP {status}"
        else:
            attempt.outcome = REJECTED
            attempt.error = str(result or payload)[:200]
