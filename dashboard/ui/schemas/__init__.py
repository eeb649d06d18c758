"""Pages of the schema registry."""
