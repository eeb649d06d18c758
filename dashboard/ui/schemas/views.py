"""The Schemas pages: the registry with traffic and conformance, and one schema with a version diff, its
recent violations and the sample event of each version. Both stay live over a WebSocket (SchemasConsumer)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from dashboard.models import EventSchema
from dashboard.ui.schemas import pages as pages_schemas


@login_required
@require_GET
def schema_list(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/schemas/schema_list.html", {"rows": pages_schemas.schema_rows()})


def _version_number(request: HttpRequest, name: str, default: int, latest: int) -> int:
    try:
        number = int(request.GET.get(name, default))
    except ValueError:
        return default
    return min(max(number, 1), latest)


@login_required
@require_GET
def schema_detail(request: HttpRequest, pk: int) -> HttpResponse:
    schema = get_object_or_404(EventSchema, pk=pk)
    versions = list(schema.versions.order_by("number"))
    context = {
        "schema": schema,
        "versions": pages_schemas.versions_with_samples(versions),
        "violations": pages_schemas.recent_violations(schema),
    }
    if versions:
        latest = versions[-1].number
        right = _version_number(request, "b", latest, latest)
        left = _version_number(request, "a", max(right - 1, 1), latest)
        by_number = {v.number: v for v in versions}
        context |= {
            "left": by_number[left],
            "right": by_number[right],
            "diff": pages_schemas.diff_versions(by_number[left], by_number[right], schema.rules),
        }
    return render(request, "dashboard/schemas/schema_detail.html", context)
