"""The proof harness: a load generator that records every publish attempt, a webhook receiver that records
every `webhook-id`, a Jepsen-style ledger checker, a TCP fault proxy, private Redis/PostgreSQL servers and
the scenarios of `make chaos` (T2-T12 of shared/reference/reliability.md). `bench/` reuses the same parts.

Nothing here is imported by the product: it drives EventHub from the outside, as a user's system would.
"""
