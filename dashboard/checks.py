"""System checks for settings that only work together: `manage.py check` (and every server start) says
which one is wrong and why, instead of a worker misbehaving later."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from dashboard.models.rules import MAX_TIMEOUT_SECONDS

# orjson writes at most 254 levels, and the envelope adds one above the entry.
_MAX_JSON_DEPTH = 253


@register()
def check_eventhub_settings(app_configs, **kwargs) -> list[CheckMessage]:
    knobs = settings.EVENTHUB
    errors: list[CheckMessage] = []
    if knobs["VISIBILITY_TIMEOUT_SECONDS"] <= MAX_TIMEOUT_SECONDS:
        # A warning, not an error: a bus whose targets all answer fast may choose a short timeout (tests do).
        errors.append(
            Warning(
                f"EVENTHUB_VISIBILITY_TIMEOUT_SECONDS ({knobs['VISIBILITY_TIMEOUT_SECONDS']:g}) is not above the "
                f"longest target timeout allowed ({MAX_TIMEOUT_SECONDS} s): an attempt slower than it is taken "
                "over by another worker while in flight, and sent twice.",
                id="eventhub.W001",
            )
        )
    if not 0 < knobs["RETRY_BASE_SECONDS"] <= knobs["RETRY_CAP_SECONDS"]:
        errors.append(
            Error(
                "EVENTHUB_RETRY_BASE_SECONDS must be above 0 and at most EVENTHUB_RETRY_CAP_SECONDS.",
                id="eventhub.E002",
            )
        )
    if not 1 <= knobs["MAX_JSON_DEPTH"] <= _MAX_JSON_DEPTH:
        errors.append(Error(f"EVENTHUB_MAX_JSON_DEPTH must be between 1 and {_MAX_JSON_DEPTH}.", id="eventhub.E003"))
    for name in (
        "MAX_BATCH_ENTRIES",
        "MAX_ENTRY_BYTES",
        "INGEST_THREADS",
        "DISPATCH_CONCURRENCY",
        "DISPATCH_PREFETCH",
        "SWEEP_BATCH",
    ):
        if knobs[name] < 1:
            errors.append(Error(f"EVENTHUB_{name} must be at least 1.", id="eventhub.E004"))
    return errors
