"""The native API's URLs. The publish routes among them are served on the fast path because their views
are marked for it (framework.fast_path), not because of anything here."""

from django.urls import URLPattern, path, register_converter

from dashboard.api.native import cloudevents, configuration, deadletters, openapi, schemas, streams
from dashboard.api.native import events as native
from dashboard.shop import api as shop


class _RowId:
    """A row's id in a path: at most 18 digits, so a longer number is a 404 rather than an integer beyond
    what the database holds (SQLite raised OverflowError on it; found by the API fuzz test)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(_RowId, "row_id")

urlpatterns: list[URLPattern] = [
    path("events", native.publish_or_list_events, name="api-events"),
    path("events/<str:event_id>", native.get_event, name="api-event"),
    path("cloudevents", cloudevents.publish_cloudevents, name="api-cloudevents"),
    path("patterns/test", native.test_pattern, name="api-pattern-test"),
    path("openapi.json", openapi.openapi_json, name="api-openapi"),
    path("buses", configuration.buses, name="api-buses"),
    path("buses/<path:name>", configuration.bus, name="api-bus"),
    path("rules", configuration.rules, name="api-rules"),
    path("rules/<str:name>", configuration.rule, name="api-rule"),
    path("rules/<str:name>/targets", configuration.targets, name="api-rule-targets"),
    path("rules/<str:name>/targets/<str:target_id>", configuration.target, name="api-rule-target"),
    path("connections", configuration.connections, name="api-connections"),
    path("connections/<str:name>", configuration.connection, name="api-connection"),
    path("api-destinations", configuration.api_destinations, name="api-api-destinations"),
    path("api-destinations/<str:name>", configuration.api_destination, name="api-api-destination"),
    path("archives", configuration.archives, name="api-archives"),
    path("archives/<str:name>", configuration.archive, name="api-archive"),
    path("schemas", schemas.schemas, name="api-schemas"),
    path("schemas/compatibility", schemas.compatibility, name="api-schema-compatibility"),
    path("schemas/check", schemas.check, name="api-schema-check"),
    path("schemas/<row_id:schema_id>", schemas.get_schema, name="api-schema"),
    path("schemas/<row_id:schema_id>/config", schemas.set_config, name="api-schema-config"),
    path("schemas/<row_id:schema_id>/versions/<row_id:number>", schemas.get_version, name="api-schema-version"),
    path(
        "schemas/<row_id:schema_id>/versions/<row_id:number>/bindings", schemas.get_bindings, name="api-schema-bindings"
    ),
    path("dead-letters", deadletters.list_dead_letters, name="api-dead-letters"),
    path("dead-letters/redrive", deadletters.redrive, name="api-dead-letters-redrive"),
    path("dead-letters/dry-run", deadletters.dry_run, name="api-dead-letters-dry-run"),
    path("dead-letters/purge", deadletters.purge, name="api-dead-letters-purge"),
    path("dead-letters/<str:delivery_id>", deadletters.get_dead_letter, name="api-dead-letter"),
    path("streams/$all", streams.read_global_log, name="api-streams-all"),
    path("streams/<str:aggregate_type>/<str:aggregate_id>", streams.read_stream, name="api-stream"),
    path("streams/<str:aggregate_type>/<str:aggregate_id>/events", streams.append_events, name="api-stream-append"),
    path("projections", streams.list_projections, name="api-projections"),
    path("projections/<str:name>", streams.get_projection, name="api-projection"),
    path("projections/<str:name>/<str:action>", streams.projection_action, name="api-projection-action"),
    path("replays", streams.replays, name="api-replays"),
    path("replays/preview", streams.preview_replay, name="api-replay-preview"),
    path("replays/<str:name>", streams.get_replay, name="api-replay"),
    path("replays/<str:name>/cancel", streams.cancel, name="api-replay-cancel"),
    path("shop/orders", shop.orders, name="api-shop-orders"),
    path("shop/orders/<str:order_id>", shop.get_order, name="api-shop-order"),
    path("shop/orders/<str:order_id>/ship", shop.ship, name="api-shop-ship"),
    path("shop/orders/<str:order_id>/cancel", shop.cancel, name="api-shop-cancel"),
]
