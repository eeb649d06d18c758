"""Python-target handlers for the poison-event scenario (T11): one that kills the worker process.

Registered with @eventhub_handler; chaos runs list this module in EVENTHUB_HANDLERS (services.base_env), so
the dispatch worker calls `chaos.handlers.exit_on_poison` inside its own process.
Each call is counted in the file EVENTHUB_CHAOS_POISON_LOG names before the process dies, so the
scenario can tell how many times a poison event was tried.
"""

import os

from dashboard.delivery.handler_registry import eventhub_handler


@eventhub_handler
def exit_on_poison(event: dict) -> None:
    """Kill the worker (like a segfault or the OOM killer) when the event carries `detail.poison`."""
    detail = event.get("detail") or {}
    if detail.get("poison"):
        with open(os.environ["EVENTHUB_CHAOS_POISON_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{event.get('id')}\n")
        os._exit(17)
