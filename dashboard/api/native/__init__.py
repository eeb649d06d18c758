"""The native HTTP API (/api/v1/): events, configuration, dead letters, schemas, streams, CloudEvents, metrics."""
