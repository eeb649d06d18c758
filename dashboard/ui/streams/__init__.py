"""Pages and live consumers of the event-sourcing side: streams, projections, replays."""
