"""Event sourcing and CQRS on the event store.

- `streams`: append with an expected version, read a stream, read the global log (`$all`).
- `global_log`: the safe high-water mark that lets `$all` readers resume without skipping an event.
- `aggregate`: state folded from a stream; commands record events and save with optimistic concurrency.
- `projections` / `projection_runner`: read models kept from checkpoints, exactly once; blue/green rebuilds.
- `replay`: re-send a time window of stored events; `retention`: purge what a bus no longer keeps.

    from dashboard.eventsourcing import NO_STREAM, StreamName, append, read
    append(StreamName("Order", "o-1"), [EventDraft(...)], expected_version=NO_STREAM)
"""

from .streams import ANY, EXISTS, NO_STREAM, StreamName, WrongExpectedVersion, append, read, read_all

__all__ = ["ANY", "EXISTS", "NO_STREAM", "StreamName", "WrongExpectedVersion", "append", "read", "read_all"]
