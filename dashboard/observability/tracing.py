"""W3C Trace Context (https://www.w3.org/TR/trace-context/): the producer's `traceparent` and `tracestate`,
stored with each event so its deliveries and the dashboard can name the trace it belongs to; and, when
tracing is on (EVENTHUB_TRACING=1), OpenTelemetry spans for publish, match, each delivery attempt and
projection handling, each a child of the producer's trace when the event carries one.

Tracing is off by default: then `span()` hands back one shared no-op context, so the hot paths pay a
function call. Each process (Daphne, `dispatch`, `project`) turns it on once with `start_from_settings`.
"""

import os
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from dashboard.delivery.policy import Outcome
    from dashboard.models import Delivery, Event, Target

# version-traceid-parentid-flags, lowercase hex; version ff and all-zero ids are invalid.
_TRACEPARENT = re.compile(r"(?!ff)[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")
TRACESTATE_LIMIT = 512

_PROPAGATOR = TraceContextTextMapPropagator()
_NO_SPAN = nullcontext(trace.INVALID_SPAN)
_tracer: trace.Tracer | None = None


def trace_context(traceparent: object, tracestate: object) -> tuple[str, str]:
    """The (traceparent, tracestate) to keep: as the spec says, an invalid traceparent is ignored (and its
    tracestate with it) rather than refused, and an over-long tracestate is dropped."""
    if not isinstance(traceparent, str) or not _TRACEPARENT.fullmatch(traceparent.strip()):
        return "", ""
    state = tracestate.strip() if isinstance(tracestate, str) and len(tracestate) <= TRACESTATE_LIMIT else ""
    return traceparent.strip(), state


def with_request_trace(entries: list[object], headers: Mapping[str, str]) -> list[object]:
    """The entries of a publish request, each carrying the request's `traceparent`/`tracestate` headers
    unless it brings its own (an OpenTelemetry-instrumented producer sends them as headers)."""
    traceparent = headers.get("traceparent")
    if not traceparent:
        return entries
    context = {"traceparent": traceparent, "tracestate": headers.get("tracestate", "")}
    return [context | entry if isinstance(entry, dict) and "traceparent" not in entry else entry for entry in entries]


def propagation_headers(traceparent: str, tracestate: str) -> dict[str, str]:
    """The W3C headers a delivery carries so its receiver joins the producer's trace (empty without one).
    With tracing on they name the current span (the delivery attempt's), so the receiver's span is its child."""
    if _tracer is not None:
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        if carrier:
            return carrier
    if not traceparent:
        return {}
    return {"traceparent": traceparent, "tracestate": tracestate} if tracestate else {"traceparent": traceparent}


def tracing_enabled() -> bool:
    return _tracer is not None


def span(
    name: str,
    traceparent: str = "",
    tracestate: str = "",
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, str | int] | None = None,
) -> AbstractContextManager[trace.Span]:
    """A span made current for the `with` block: a child of the stored producer context when there is one,
    else of the current span. With tracing off, a shared no-op whose span ignores attributes."""
    if _tracer is None:
        return _NO_SPAN
    parent = _PROPAGATOR.extract({"traceparent": traceparent, "tracestate": tracestate}) if traceparent else None
    return _tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes)


def publish_span(entries: list[object]) -> AbstractContextManager[trace.Span]:
    """The span of one publish request: a child of the producer's trace (its entries carry the request's
    traceparent, see with_request_trace), naming how many entries it brought and to which buses."""
    if _tracer is None:
        return _NO_SPAN
    first = next((entry for entry in entries if isinstance(entry, dict) and entry.get("traceparent")), {})
    traceparent, tracestate = trace_context(first.get("traceparent"), first.get("tracestate"))
    buses = sorted({str(entry.get("bus") or "default") for entry in entries if isinstance(entry, dict)})
    attributes = {"eventhub.entries": len(entries), "eventhub.bus": ",".join(buses)}
    return span("publish", traceparent, tracestate, kind=trace.SpanKind.SERVER, attributes=attributes)


def event_span(
    name: str, event: "Event", attributes: Mapping[str, str | int] | None = None
) -> AbstractContextManager[trace.Span]:
    """A span of work on one stored event (matching it, projecting it), a child of its producer's trace."""
    if _tracer is None:
        return _NO_SPAN
    attributes = {"eventhub.event_id": event.event_id, "eventhub.bus": event.bus, **(attributes or {})}
    return span(name, event.traceparent, event.tracestate, attributes=attributes)


def attempt_span(delivery: "Delivery", target: "Target") -> AbstractContextManager[trace.Span]:
    """The span of one delivery attempt, a child of the producer's trace; current while the request is sent,
    so propagation_headers names it and the receiver's span becomes its child."""
    if _tracer is None:
        return _NO_SPAN
    event = delivery.event
    attributes = {
        "eventhub.event_id": event.event_id,
        "eventhub.target_id": target.id,
        "eventhub.delivery_id": str(delivery.id),
        "eventhub.attempt": delivery.attempts,
    }
    name = f"deliver {target.name}"
    return span(name, event.traceparent, event.tracestate, kind=trace.SpanKind.CLIENT, attributes=attributes)


def record_outcome(attempt: trace.Span, outcome: "Outcome") -> None:
    """What the attempt did, on its span: the receiver's status code and succeeded, retriable or dead."""
    if not attempt.is_recording():
        return
    if outcome.status_code is not None:
        attempt.set_attribute("http.response.status_code", outcome.status_code)
    verdict = "succeeded" if outcome.succeeded else "retriable" if outcome.retriable else "dead"
    attempt.set_attribute("eventhub.outcome", verdict)
    if not outcome.succeeded:
        attempt.set_status(trace.StatusCode.ERROR, outcome.error)


def start_tracing(processor: SpanProcessor | None, service_name: str = "eventhub") -> TracerProvider:
    """Record spans from now on, handed to `processor` (tests pass an in-memory exporter's)."""
    global _tracer
    # OTEL_SERVICE_NAME, when set, wins over the process's name; OTEL_RESOURCE_ATTRIBUTES adds to it.
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    if processor is not None:
        provider.add_span_processor(processor)
    _tracer = provider.get_tracer("eventhub")
    return provider


def stop_tracing() -> None:
    global _tracer
    _tracer = None


def start_from_settings(service_name: str) -> None:
    """Turn tracing on in this process when EVENTHUB_TRACING is set, exporting as OTEL_TRACES_EXPORTER says
    (`otlp`, the default, needs the optional opentelemetry-exporter-otlp-proto-http package; `console`
    prints spans; `none` records them for nobody). The provider also becomes OpenTelemetry's global one,
    so Python handlers that trace join the delivery's trace."""
    if not settings.EVENTHUB["TRACING"] or _tracer is not None:
        return
    exporter = _exporter()
    provider = start_tracing(exporter and BatchSpanProcessor(exporter), service_name)
    trace.set_tracer_provider(provider)


def _exporter() -> SpanExporter | None:
    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if name == "console":
        return ConsoleSpanExporter()
    if name == "none":
        return None
    if name != "otlp":
        raise ImproperlyConfigured(f"OTEL_TRACES_EXPORTER={name!r}: EventHub knows otlp, console and none")
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as error:
        raise ImproperlyConfigured(
            "EVENTHUB_TRACING=1 exports by OTLP, which needs `pip install opentelemetry-exporter-otlp-proto-http` "
            "(or set OTEL_TRACES_EXPORTER=console or none)"
        ) from error
    # Endpoint, headers and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
    return OTLPSpanExporter()
