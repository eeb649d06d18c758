"""Small helpers with no domain: ids, JSON, timestamps, files, the embedded Redis, HMAC keys."""
