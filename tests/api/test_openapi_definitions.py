"""The OpenAPI document against the definitions it describes: the URLconf's routes, and the limits the
validation enforces (each stated limit is the constant or setting the validating code uses)."""

import re
from fnmatch import fnmatchcase

import pytest
from django.conf import settings

from dashboard.api import framework
from dashboard.api.native import deadletters, openapi
from dashboard.api.native.streams import MAX_APPEND_EVENTS
from dashboard.api.urls import urlpatterns
from dashboard.eventsourcing import replay
from dashboard.ingest.publishing import TEXT_LIMITS
from dashboard.rules import configuration as config

LIMIT_KEYWORDS = ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems", "pattern")

# Where each documented limit comes from: a pattern of JSON-pointer-like locations (path items' "/" written
# as "~1", parameters by name) and the value the validation uses there. First match wins.
LIMITS = [
    ("/components/schemas/Entry/properties/*/minLength", 1),
    *((f"/components/schemas/Entry/properties/{name}/maxLength", limit) for name, limit in TEXT_LIMITS.items()),
    ("/paths/~1events/post/*/maxItems", settings.EVENTHUB["MAX_BATCH_ENTRIES"]),
    ("/paths/~1cloudevents/post/*/maxItems", settings.EVENTHUB["MAX_BATCH_ENTRIES"]),
    ("/paths/~1events/post/*/minItems", 1),
    ("/paths/~1cloudevents/post/*/minItems", 1),
    ("*/parameters/limit/schema/minimum", 1),
    ("/paths/~1*/get/parameters/limit/schema/maximum", None),  # resolved per API below
    ("/paths/~1streams~1$all/get/parameters/after/schema/minimum", 0),
    ("*/parameters/from_version/schema/minimum", 1),
    ("*/expected_version/oneOf/1/minimum", 0),
    ("*/properties/events/minItems", 1),
    ("*/properties/events/maxItems", MAX_APPEND_EVENTS),
    ("/paths/~1replays*/properties/name/pattern", replay.REPLAY_NAME.pattern),
    ("*/rate_per_second/minimum", 0),
    ("*/rate_per_second/maximum", replay.MAX_RATE),
    ("/paths/~1shop~1orders/post/*/quantity/minimum", 1),
    ("/paths/~1shop~1orders/post/*/price/minimum", 0),
    ("/paths/~1dead-letters*/rule_id*/minimum", 1),
    ("/paths/~1dead-letters*/target_id*/minimum", 1),
    ("/paths/~1dead-letters*/status_code*/minimum", deadletters.STATUS_CODES[0]),
    ("/paths/~1dead-letters*/status_code*/maximum", deadletters.STATUS_CODES[1]),
    ("/paths/~1dead-letters*/properties/ids/minItems", 1),
    ("/paths/~1dead-letters*/properties/ids/maxItems", deadletters.MAX_IDS),
    ("/paths/~1dead-letters*/properties/rate/minimum", 0),
    ("/paths/~1dead-letters*/properties/rate/maximum", deadletters.MAX_RATE),
    ("*/properties/description/maxLength", config.MAX_DESCRIPTION),
    ("*/retry_policy/properties/maximum_retry_attempts/minimum", config.RETRY_ATTEMPTS[0]),
    ("*/retry_policy/properties/maximum_retry_attempts/maximum", config.RETRY_ATTEMPTS[1]),
    ("*/retry_policy/properties/maximum_event_age_seconds/minimum", config.EVENT_AGE_SECONDS[0]),
    ("*/retry_policy/properties/maximum_event_age_seconds/maximum", config.EVENT_AGE_SECONDS[1]),
    ("*/invocation_rate_limit_per_second/minimum", config.INVOCATION_RATE[0]),
    ("*/invocation_rate_limit_per_second/maximum", config.INVOCATION_RATE[1]),
    ("/paths/~1archives*/properties/name/minLength", 1),
    ("/paths/~1archives*/properties/name/maxLength", config.ARCHIVE_NAME_LENGTH),
    ("/paths/~1archives*/properties/name/pattern", f"^{config.ARCHIVE_NAME_CHARACTERS}+$"),
    ("*/properties/name/minLength", 1),
    ("*/properties/name/maxLength", config.NAME_LENGTH),
    ("*/properties/name/pattern", f"^{config.NAME_CHARACTERS}+$"),
    ("*/retention_days/minimum", 0),
]
# The configuration API pages by its own size; every other list by the framework's.
CONFIGURATION_LISTS = ("buses", "rules", "connections", "api-destinations", "archives")


def _page_limit(location: str) -> int:
    first = location.removeprefix("/paths/~1").split("~1")[0].split("/")[0]
    return config.MAX_PAGE if first in CONFIGURATION_LISTS else framework.MAX_PAGE


def documented_limits(node: object, location: str = ""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in LIMIT_KEYWORDS and not isinstance(value, dict):
                yield f"{location}/{key}", value
            else:
                yield from documented_limits(value, f"{location}/{str(key).replace('/', '~1')}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            named = isinstance(item, dict) and "in" in item and "name" in item
            yield from documented_limits(item, f"{location}/{item['name'] if named else index}")


def expected_limit(location: str):
    for pattern, value in LIMITS:
        if fnmatchcase(location, pattern):
            return _page_limit(location) if value is None else value
    raise AssertionError(f"{location} states a limit this test does not know the source of")


@pytest.mark.parametrize(("location", "value"), list(documented_limits(openapi.document())))
def test_every_documented_limit_is_the_one_the_validation_uses(location, value):
    assert value == expected_limit(location)


def test_the_batch_limit_follows_the_setting(settings):
    settings.EVENTHUB = settings.EVENTHUB | {"MAX_BATCH_ENTRIES": 3}
    limits = dict(documented_limits(openapi.document()))
    assert limits["/paths/~1events/post/requestBody/content/application~1json/schema/oneOf/1/maxItems"] == 3


def _documented_route(route: str) -> str:
    """`streams/<str:aggregate_type>/<str:aggregate_id>` as OpenAPI writes it: `/streams/{aggregate_type}/...`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def test_every_api_route_is_documented_and_every_documented_path_is_a_route():
    routes = {_documented_route(str(pattern.pattern)) for pattern in urlpatterns}
    routes.discard("/openapi.json")  # the document itself
    assert routes == set(openapi.document()["paths"])
