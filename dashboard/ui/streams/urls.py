"""Pages of the event-sourcing side: streams, projections, replays (namespace `streams`)."""

from django.urls import path

from . import views

app_name = "streams"

urlpatterns = [
    path("streams/", views.stream_list, name="stream-list"),
    path("streams/<str:aggregate_type>/<str:aggregate_id>/", views.stream_detail, name="stream-detail"),
    path("projections/", views.projection_list, name="projections"),
    path("projections/<str:name>/<str:action>", views.projection_action, name="projection-action"),
    path("replays/", views.replay_list, name="replays"),
    path("replays/preview", views.replay_preview, name="replay-preview"),
    path("replays/start", views.replay_start, name="replay-start"),
    path("replays/<str:name>/cancel", views.replay_cancel, name="replay-cancel"),
]
