"""Getting events to their targets. The database is the record; Redis only carries ids.

- routing: which targets an event goes to (compiled rule sets, refreshed within a second of an edit);
- transport: the Redis stream, consumer group, delayed set and rate limiter; handover: the one way a
  committed change reaches Redis;
- leases: claiming deliveries for an attempt, taking over abandoned ones, finding overdue ones;
- attempts: recording what an attempt did (the one place an outcome is written); states: the columns
  of state changes several paths make (dead-lettering);
- policy: what is retried and when (`next_delay`);
- webhook, destinations, signing, transform, handlers: sending to webhooks and Python targets;
- worker: the `manage.py dispatch` loop, composed of steps a test can call one by one: intake, sending,
  recording, maintenance (database: the worker's database threads);
- redrive: dead letters (redrive, purge, dry run, cancel); targets: what a 410 does to a target.
"""
