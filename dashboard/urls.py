from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.root, name="overview"),
    path("events/", views.event_list, name="event-list"),
    path("events/<int:position>/", views.event_detail, name="event-detail"),
    path("rules/", views.rule_list, name="rule-list"),
    path("rules/<int:pk>/", views.rule_detail, name="rule-detail"),
    path("targets/<int:pk>/", views.target_detail, name="target-detail"),
    path("playground/", views.playground, name="playground"),
    path("dead-letters/", views.dead_letter_list, name="dead-letters"),
    path("dead-letters/redrive", views.dlq_redrive, name="dlq-redrive"),
    path("dead-letters/purge", views.dlq_purge, name="dlq-purge"),
    path("dead-letters/dry-run", views.dlq_dry_run, name="dlq-dry-run"),
    path("dead-letters/progress/<str:token>", views.dlq_progress, name="dlq-progress"),
    path("dead-letters/dismiss", views.dlq_dismiss, name="dlq-dismiss"),
]
