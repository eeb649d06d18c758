"""Python-target handlers for the poison-event scenario (T11): one that kills the worker process.

The dispatch worker imports handlers by dotted path, so `chaos.handlers.exit_on_poison` runs inside it.
Each call is counted in the file EVENTHUB_CHAOS_POISON_LOG names before the process dies, so the
scenario can tell how many times a poison event was tried.
"""

import os


def exit_on_poison(event: dict) -> None:
    """Kill the worker (like a segfault or the OOM killer) when the event carries `detail.poison`."""
    detail = event.get("detail") or {}
    if detail.get("poison"):
        with open(os.environ["EVENTHUB_CHAOS_POISON_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{event.get('id')}\n")
        os._exit(17)
