from django.urls import path

from dashboard.shop import api as shop

from . import deadletters, native, openapi, streams

urlpatterns = [
    path("events", native.publish_or_list_events, name="api-events"),
    path("events/<str:event_id>", native.get_event, name="api-event"),
    path("patterns/test", native.test_pattern, name="api-pattern-test"),
    path("openapi.json", openapi.openapi_json, name="api-openapi"),
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
