"""The dashboard: pages, forms and live (WebSocket) consumers; it has no models of its own."""
