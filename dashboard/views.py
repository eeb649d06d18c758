"""Dashboard pages. Thin: read what the page shows, render it; the domain does the work."""

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt

from dashboard.api import aws


@csrf_exempt
async def root(request: HttpRequest) -> HttpResponse:
    """`/` is both the overview page and, for AWS SDKs, the EventBridge JSON endpoint (always POST)."""
    if request.method == "POST" and "X-Amz-Target" in request.headers:
        return await aws.handle(request)
    user = await request.auser()
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(request, "dashboard/overview.html", {})
