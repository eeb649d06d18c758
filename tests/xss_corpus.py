"""Hostile payloads for the dashboard: markup, event handlers and htmx attributes in keys and values.

If any of these became markup the browser would set `window.__xss` or request `/xss-probe`.
"""

PROBE_PATH = "/xss-probe"

STRINGS = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 1">',
    f'<div hx-get="{PROBE_PATH}" hx-trigger="load">probe</div>',
    f'"><button hx-post="{PROBE_PATH}" hx-trigger="load">x</button>',
    "</textarea><script>window.__xss = 1</script>",
    '</pre><svg onload="window.__xss = 1"></svg>',
    f'<a href="javascript:window.__xss = 1" hx-get="{PROBE_PATH}" hx-trigger="revealed">link</a>',
    '{{7*7}} {% now "Y" %}',
]


def hostile_entries() -> list[dict]:
    """Events whose keys, values, source and detail-type all carry the corpus."""
    detail = {text: text for text in STRINGS}
    detail["nested"] = {"list": STRINGS, STRINGS[2]: {"deeper": STRINGS[1]}}
    return [
        {"source": "shop.orders", "detail-type": "OrderCreated", "detail": {"total": 1, **detail}},
        {"source": STRINGS[1][:200], "detail-type": STRINGS[2][:200], "detail": detail},
    ]
