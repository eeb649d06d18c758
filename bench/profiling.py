"""Where a process spends its time: py-spy samples (all threads, GIL holders and waiters alike) summarised.

    profile_process(pid, seconds) -> {"samples": n, "top_self": [(function, share)], "areas": [(area, share)]}

`top_self` is the leaf frame of each sample (the line actually running), `areas` groups those leaves by
the library they belong to, so a reader sees "34 % psycopg, 20 % Django ORM, ..." at a glance. Idle
threads (waiting on a lock or a socket) are left out with py-spy's --idle off.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

AREAS = [
    ("EventHub (dashboard/)", re.compile(r"/dashboard/")),
    ("Django ORM / DB layer", re.compile(r"django/db/")),
    ("Django (other)", re.compile(r"/django/")),
    ("psycopg", re.compile(r"psycopg")),
    ("sqlite3", re.compile(r"sqlite3")),
    ("Daphne / Twisted / asgiref", re.compile(r"daphne|twisted|asgiref|autobahn")),
    ("asyncio / threads / stdlib", re.compile(r"/lib/python3\.\d+/(?!site-packages)")),
    ("redis client", re.compile(r"/redis/")),
    ("aiohttp (webhook HTTP client)", re.compile(r"/aiohttp/|/yarl/|/multidict/")),
    ("orjson / json", re.compile(r"orjson|json")),
]
_FRAME = re.compile(r"^(?P<function>[^ ]+) \((?P<file>[^:]+)(?::\d+)?\)$")


def py_spy() -> str | None:
    found = Path(sys.executable).with_name("py-spy")
    return str(found) if found.exists() else shutil.which("py-spy")


def area_of(filename: str) -> str:
    for name, pattern in AREAS:
        if pattern.search(filename):
            return name
    return "other"


def summarise(collapsed: str, top: int = 12) -> dict:
    leaves: Counter = Counter()
    areas: Counter = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        match = _FRAME.match(leaf.strip())
        function, filename = (match["function"], match["file"]) if match else (leaf, "")
        short = "/".join(Path(filename).parts[-2:]) if filename else "?"
        leaves[f"{function} ({short})"] += int(count)
        areas[area_of(filename)] += int(count)
        total += int(count)
    share = (lambda n: round(100 * n / total, 1)) if total else (lambda n: 0.0)
    return {
        "samples": total,
        "top_self": [(name, share(count)) for name, count in leaves.most_common(top)],
        "areas": [(name, share(count)) for name, count in areas.most_common()],
    }


def profile_process(pid: int, seconds: float) -> dict:
    """Sample `pid` for `seconds` with py-spy; {} (and a note) when py-spy is missing or not permitted."""
    binary = py_spy()
    if binary is None:
        return {"error": "py-spy not installed (pip install py-spy==0.4.1)"}
    with tempfile.TemporaryDirectory(prefix="eh-pyspy-") as scratch:
        output = Path(scratch) / "stacks.txt"
        completed = subprocess.run(
            [binary, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "200",
             "--format", "raw", "--output", str(output), "--nonblocking", "--full-filenames"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )  # fmt: skip
        if completed.returncode != 0 or not output.exists():
            return {"error": f"py-spy failed: {completed.stderr.strip()[-300:]}"}
        return summarise(output.read_text())
