"""Health probes, Prometheus metrics, OpenTelemetry spans and JSON logs."""
