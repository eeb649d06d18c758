"""The EventBridge-compatible endpoint: AWS JSON protocol, SigV4, the management operations."""
