"""Ingest: validate published events, store them with their deliveries (group commit), hand them over to Redis."""
