"""Publish → browser latency of the live event tail, and what a browser receives under load.

    python bench/live_tail_latency.py [--samples 40] [--load 1000] [--load-seconds 10]

Starts a throwaway EventHub (Daphne on a fresh SQLite database) and opens /events/ in Chromium.
1. Latency: publishes one event at a time from this process (through `publish_entries`, the one way
   in) and times until its row is in the page. A MutationObserver in the page stamps each row's arrival;
   both clocks are this machine's.
2. Load (--load N): publishes about N events/s for --load-seconds and counts the WebSocket frames the
   page receives each second, the rows it shows and the events it is told it skipped.
"""

import argparse
import os
import re
import statistics
import threading
import time

from dashboard_stack import CHROMIUM, CHROMIUM_ARGS, log_in, throwaway_stack
from playwright.sync_api import sync_playwright

# Playwright's sync API keeps an event loop in this thread; the ORM calls here are still plain sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROW = re.compile(r'<tr id="ev-')
SKIPPED = re.compile(r"(\d+) more matching event")
STAMP_ROWS = """
window.__arrived = {};
new MutationObserver(function (mutations) {
  const now = Date.now();
  for (const mutation of mutations) {
    for (const node of mutation.addedNodes) {
      if (node.id && node.id.startsWith("ev-") && !(node.id in window.__arrived)) window.__arrived[node.id] = now;
    }
  }
}).observe(document.getElementById("tail-rows"), {childList: true});
"""


def arrival(page, position: int, timeout: float = 10.0) -> float:
    """When the page stamped the row's arrival (polled from here: the CSP forbids in-page eval)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stamp = page.evaluate(f"window.__arrived['ev-{position}']")
        if stamp is not None:
            return stamp
        time.sleep(0.01)
    raise SystemExit(f"event {position} never reached the page")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--load", type=float, default=1000, help="Events per second for the load phase (0: skip).")
    parser.add_argument("--load-seconds", type=float, default=10)
    args = parser.parse_args()

    with throwaway_stack() as stack:
        stack.use_here()
        from dashboard.ingest.publishing import publish_entries
        from dashboard.models import Event

        def publish(n: int) -> None:
            publish_entries([{"source": "bench", "detail-type": "Ping", "detail": {"n": i}} for i in range(n)])

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            frames: list[tuple[float, str]] = []
            page.on(
                "websocket",
                lambda socket: socket.on("framereceived", lambda payload: frames.append((time.monotonic(), payload))),
            )
            log_in(page, stack)
            page.goto(f"{stack.url}/events/")
            page.locator("[data-live-text]", has_text="Live").wait_for()
            page.evaluate(STAMP_ROWS)

            latencies = []
            for _ in range(args.samples):
                sent_ms = time.time() * 1000
                publish(1)
                position = Event.objects.order_by("-position").values_list("position", flat=True).first()
                latencies.append(arrival(page, position) - sent_ms)
                time.sleep(0.25)
            print(
                f"publish → row in browser, {len(latencies)} samples: median {statistics.median(latencies):.0f} ms, "
                f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms"
            )

            if args.load:
                page.evaluate("window.__arrived = {}")
                frames.clear()
                published = [0]
                stop = threading.Event()

                def publisher() -> None:
                    started = time.monotonic()
                    while not stop.is_set():
                        due = int((time.monotonic() - started) * args.load) - published[0]
                        if due > 0:
                            batch = min(due, 10)
                            publish(batch)
                            published[0] += batch
                        else:
                            time.sleep(0.002)

                thread = threading.Thread(target=publisher)
                started = time.monotonic()
                thread.start()
                page.wait_for_timeout(args.load_seconds * 1000)  # not time.sleep: Playwright delivers frames meanwhile
                stop.set()
                thread.join()
                elapsed = time.monotonic() - started
                page.wait_for_timeout(1500)
                in_window = [t for t, _ in frames if started <= t <= started + elapsed]
                per_second = [sum(1 for t in in_window if s <= t - started < s + 1) for s in range(int(elapsed))]
                payloads = [str(payload) for _, payload in frames]
                shown = sum(len(ROW.findall(payload)) for payload in payloads)
                skipped = sum(int(n) for payload in payloads for n in SKIPPED.findall(payload))
                print(
                    f"load: {published[0]} events in {elapsed:.1f} s ({published[0] / elapsed:.0f}/s achieved); "
                    f"frames per second at the browser: max {max(per_second)}, mean {statistics.mean(per_second):.1f}; "
                    f"rows sent {shown} + counted as 'more' {skipped} = {shown + skipped}"
                )
            browser.close()


if __name__ == "__main__":
    main()
