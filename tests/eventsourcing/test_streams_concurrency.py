"""Appenders racing on one stream: threads (each with its own connection) and separate processes,
on PostgreSQL and on SQLite."""

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from dashboard.eventsourcing.streams import ANY, StreamName, WrongExpectedVersion, append, read
from dashboard.ingest.publishing import EventDraft
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

STREAM = StreamName("Account", "acc-1")
THREADS = 6


def race(rounds: int, expected_of_round) -> list[list[str]]:
    """Each round, every thread appends at once; returns per round the outcomes ('won', or 'conflict')."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[list[str]] = [[] for _ in range(rounds)]
    lock = threading.Lock()

    def appender(worker: int) -> None:
        try:
            for round_ in range(rounds):
                barrier.wait(timeout=30)
                try:
                    append(
                        STREAM,
                        [EventDraft(source="bank", detail_type="Deposited", detail={"w": worker, "r": round_})] * 2,
                        expected_version=expected_of_round(round_),
                    )
                    outcome = "won"
                except WrongExpectedVersion as conflict:
                    assert conflict.current >= 2 * round_
                    outcome = "conflict"
                with lock:
                    outcomes[round_].append(outcome)
        finally:
            connection.close()

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(appender, range(THREADS)))
    return outcomes


def test_exactly_one_appender_wins_each_expected_version():
    outcomes = race(15, lambda round_: 2 * round_)
    assert all(sorted(o) == ["conflict"] * (THREADS - 1) + ["won"] for o in outcomes)
    versions = [e.version for e in read(STREAM)]
    assert versions == list(range(1, 31))


def test_racing_appenders_with_any_all_land_at_distinct_versions():
    outcomes = race(5, lambda round_: ANY)
    assert all(o == ["won"] * THREADS for o in outcomes)
    events = read(STREAM)
    assert [e.version for e in events] == list(range(1, 2 * 5 * THREADS + 1))
    # The two events of one append are adjacent: appends are atomic, never interleaved.
    pairs = [(events[i].detail, events[i + 1].detail) for i in range(0, len(events), 2)]
    assert all(a == b for a, b in pairs)


RACER = """
import os, sys, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventhub.settings")
django.setup()
from dashboard.eventsourcing.streams import StreamName, WrongExpectedVersion, append, stream_version
from dashboard.ingest.publishing import EventDraft
stream, goal, start = StreamName("Account", "acc-2"), int(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
wins = conflicts = 0
while (seen := stream_version(stream)) < goal:
    try:
        append(stream, [EventDraft(source="bank", detail_type="Deposited", detail={})], expected_version=seen)
        wins += 1
    except WrongExpectedVersion as conflict:
        assert conflict.current > seen, (conflict.current, seen)
        conflicts += 1
print(wins, conflicts)
"""


def test_racing_processes_win_each_version_exactly_once(subprocess_env, tmp_path):
    """Four processes loop "read the version, append expecting it" until version 60: every append that
    reported success is stored, at its own version, and every refusal named a newer version."""
    script = tmp_path / "racer.py"
    script.write_text(RACER)
    command = [sys.executable, str(script), "60", str(time.time() + 2.5)]
    env = subprocess_env | {"PYTHONPATH": str(ROOT)}
    racers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    results = [racer.communicate(timeout=60) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err.decode()[-2000:] for _, err in results]
    wins, conflicts = zip(*(map(int, out.split()) for out, _ in results), strict=True)
    assert sum(wins) == 60
    assert sum(conflicts) > 0, "the processes never raced; the test proves nothing"
    assert [e.version for e in read(StreamName("Account", "acc-2"))] == list(range(1, 61))
