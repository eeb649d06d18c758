"""The demo shop: an event-sourced Order aggregate, its commands and the `order_views` projection."""
