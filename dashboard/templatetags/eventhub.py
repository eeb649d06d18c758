"""Template filters for showing events. Every filter returns plain text, so Django escapes it: payloads
are untrusted and must reach the page as text, never as markup."""

import json

from django import template

from dashboard.ui.flowgraph import rate_text

register = template.Library()

PREVIEW_CHARS = 160


@register.filter
def compact_json(value: object) -> str:
    """One line of JSON for a table cell, cut to PREVIEW_CHARS."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


@register.filter
def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@register.filter
def per_second(value: float) -> str:
    return rate_text(value or 0)


@register.filter
def milliseconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1:
        return f"{value:.2f} ms"
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


@register.filter
def state_pill(state: str) -> str:
    """The pill class for a delivery state."""
    return {
        "succeeded": "pill-good",
        "dead": "pill-bad",
        "retrying": "pill-warn",
        "in_flight": "pill-accent",
        "pending": "pill-muted",
    }.get(state, "pill-muted")


@register.filter
def reason_label(reason: str) -> str:
    """A dead reason as words: `maximum_retry_attempts` reads "maximum retry attempts"."""
    return (reason or "dead").replace("_", " ")
