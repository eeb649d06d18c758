"""EventHub's ASGI app with a crash injected between commit and enqueue (scenario T6), for chaos runs only.

With EVENTHUB_CHAOS_EXIT_AFTER_COMMIT=p, each hand-off of committed deliveries to Redis first kills the
server process with probability p (`os._exit`, no cleanup), exactly the window the transactional outbox
and the sweeper must cover: the events are committed and acknowledged nowhere else but the database.
"""

import os
import random

from dashboard.delivery import transport
from eventhub.asgi import application  # noqa: F401 - re-exported for daphne

_probability = float(os.environ.get("EVENTHUB_CHAOS_EXIT_AFTER_COMMIT", "0"))
_enqueue = transport.enqueue


def _enqueue_or_die(delivery_ids: list) -> bool:
    if random.random() < _probability:
        os._exit(70)
    return _enqueue(delivery_ids)


transport.enqueue = _enqueue_or_die
