from django.contrib import admin
from django.urls import include, path

from dashboard.api.native import prometheus

urlpatterns = [
    path("metrics", prometheus.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("", include("dashboard.ui.streams.urls")),
    path("", include("dashboard.ui.urls")),
]
