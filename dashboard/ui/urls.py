from django.urls import path

from dashboard.ui.schemas import views as views_schemas

from . import operators as views_operators
from . import views

app_name = "dashboard"

urlpatterns = [
    path("", views.root, name="overview"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("events/", views.event_list, name="event-list"),
    path("events/<int:position>/", views.event_detail, name="event-detail"),
    path("rules/", views.rule_list, name="rule-list"),
    path("rules/<int:pk>/", views.rule_detail, name="rule-detail"),
    path("rules/new/", views_operators.rule_form, name="rule-new"),
    path("rules/preview", views_operators.rule_preview, name="rule-preview"),
    path("rules/<int:pk>/edit/", views_operators.rule_form, name="rule-edit"),
    path("rules/<int:pk>/<str:switch>/", views_operators.rule_switch, name="rule-switch"),
    path("rules/<int:rule_pk>/targets/new/", views_operators.target_form, name="target-new"),
    path("targets/<int:pk>/", views.target_detail, name="target-detail"),
    path("targets/<int:pk>/edit/", views_operators.target_form, name="target-edit"),
    path("targets/<int:pk>/rotate-secret/", views_operators.target_rotate_secret, name="target-rotate-secret"),
    path("targets/<int:pk>/pause/", views_operators.target_pause, {"pause": True}, name="target-pause"),
    path("targets/<int:pk>/resume/", views_operators.target_pause, {"pause": False}, name="target-resume"),
    path("targets/<int:pk>/<str:switch>/", views_operators.target_switch, name="target-switch"),
    path("keys/", views_operators.api_keys, name="api-keys"),
    path("keys/<int:pk>/rotate/", views_operators.api_key_rotate, name="api-key-rotate"),
    path("keys/<int:pk>/revoke/", views_operators.api_key_revoke, name="api-key-revoke"),
    path("audit/", views_operators.audit_log, name="audit"),
    path("playground/", views.playground, name="playground"),
    path("schemas/", views_schemas.schema_list, name="schema-list"),
    path("schemas/<int:pk>/", views_schemas.schema_detail, name="schema-detail"),
    path("dead-letters/", views.dead_letter_list, name="dead-letters"),
    path("dead-letters/redrive", views.dlq_redrive, name="dlq-redrive"),
    path("dead-letters/purge", views.dlq_purge, name="dlq-purge"),
    path("dead-letters/dry-run", views.dlq_dry_run, name="dlq-dry-run"),
    path("dead-letters/progress/<str:token>", views.dlq_progress, name="dlq-progress"),
    path("dead-letters/dismiss", views.dlq_dismiss, name="dlq-dismiss"),
]
