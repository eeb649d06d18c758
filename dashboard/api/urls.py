from django.urls import path

from . import native, openapi

urlpatterns = [
    path("events", native.publish_or_list_events, name="api-events"),
    path("events/<str:event_id>", native.get_event, name="api-event"),
    path("patterns/test", native.test_pattern, name="api-pattern-test"),
    path("openapi.json", openapi.openapi_json, name="api-openapi"),
]
