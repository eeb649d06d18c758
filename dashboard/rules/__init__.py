"""Rules and targets as configuration: the operations that change them, rules as code, and schedules."""
