"""Pictures of every dashboard page, for the README: `make screenshots`.

    python bench/screenshots.py [--warmup 120] [--out docs/screenshots]

Starts a throwaway EventHub (fresh database, Daphne, a dispatch worker and the demo shop's traffic),
lets the demo run for `--warmup` seconds so rates, sparklines and a few dead letters exist, then has
Chromium save a PNG of each page.
"""

import argparse
import json
import time
from pathlib import Path

from dashboard_stack import CHROMIUM, CHROMIUM_ARGS, ROOT, log_in, throwaway_stack
from playwright.sync_api import sync_playwright

VIEWPORT = {"width": 1440, "height": 900}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=float, default=120, help="Seconds of demo traffic before the pictures.")
    parser.add_argument("--rate", type=float, default=8, help="Demo events per second.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with throwaway_stack(worker=True, demo_rate=args.rate) as stack:
        print(f"EventHub at {stack.url}; demo traffic for {args.warmup:.0f} s …", flush=True)
        time.sleep(args.warmup)
        stack.use_here()
        from dashboard.models import Delivery, Event, Rule

        big_order = (
            Event.objects.filter(detail_type="OrderCreated", detail__total__gte=1000).order_by("-position").first()
            or Event.objects.order_by("-position").first()
        )
        fraud_rule = Rule.objects.filter(name="large-orders-fraud-check").first()
        big_order_json = json.dumps(big_order.envelope(), indent=2)
        _operate_a_little(stack.username)
        crm = Delivery.objects.filter(target__name="crm-sync").order_by("-created_at").first()
        shots = [
            ("overview", "/", None),
            ("event-stream", "/events/", None),
            ("event-detail", f"/events/{big_order.position}/", None),
            ("dead-letters", "/dead-letters/", None),
            ("dead-letters-dry-run", "/dead-letters/", "dry-run"),
            ("rules", "/rules/", None),
            ("playground", f"/playground/?event={big_order.position}&rule={fraud_rule.pk if fraud_rule else ''}", None),
        ]
        if crm and crm.target_id:
            shots.append(("target", f"/targets/{crm.target_id}/", None))
        if fraud_rule:
            shots.append(("rule-edit", f"/rules/{fraud_rule.pk}/edit/", "test-pattern"))
        shots += [("api-keys", "/keys/", None), ("replays", "/replays/", None), ("audit", "/audit/", None)]

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            log_in(page, stack)
            for name, path, action in shots:
                page.goto(stack.url + path)
                page.wait_for_load_state("networkidle")
                if path in ("/events/", "/dead-letters/"):
                    page.locator("[data-live-text]", has_text="Live").wait_for()
                if action == "dry-run":
                    page.get_by_role("button", name="Dry run").first.click()
                    page.locator("#dlq-dry-run").wait_for()
                if action == "test-pattern":
                    page.fill("#eh-test-event", big_order_json)
                    page.locator("#eh-trace table").first.wait_for()
                page.wait_for_timeout(1500)  # let a live update or two arrive
                target = args.out / f"{name}.png"
                page.screenshot(path=str(target), full_page=False)
                print(target, flush=True)
            browser.close()


def _operate_a_little(username: str) -> None:
    """A few audited operator actions, so the API keys and audit pages have something to show."""
    from django.contrib.auth.models import User

    from dashboard.rules import operator_actions

    operator = User.objects.get(username=username)
    operator_actions.issue_api_key("shop backend", ["publish"], user=operator)
    operator_actions.issue_api_key("reporting", ["read"], user=operator)
    old, _ = operator_actions.issue_api_key("old laptop", ["publish", "read"], user=operator)
    operator_actions.revoke_api_key(old, user=operator)


if __name__ == "__main__":
    main()
