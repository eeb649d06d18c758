from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("", include("dashboard.urls_streams")),
    path("", include("dashboard.urls")),
]
