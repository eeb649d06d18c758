"""Bad neighbours: threads posting a too-deep body share group commits with threads posting ordinary events.
Counts how many ordinary publishes were not answered 200 (issue 10, item 2: it must be none).

    .venv/bin/python bench/bad_neighbours.py http://127.0.0.1:8000 "Bearer KEY_ID:SECRET" [--bad 4] [--good 16]
"""

import argparse
import http.client
import json
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("bearer", help='the Authorization header value, "Bearer KEY_ID:SECRET"')
    parser.add_argument("--bad", type=int, default=4, help="threads sending the too-deep body")
    parser.add_argument("--good", type=int, default=16, help="threads sending ordinary events")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--depth", type=int, default=500, help="nesting of the bad body (orjson writes 254 levels)")
    parser.add_argument("--path", default="/api/v1/events")
    args = parser.parse_args()
    url = urlsplit(args.url)
    nested = "[" * args.depth + "]" * args.depth
    deep = '{"source": "bad", "detail-type": "Deep", "detail": {"x": ' + nested + "}}"
    good = json.dumps({"source": "good", "detail-type": "Tick", "detail": {"n": 1}})
    answers: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def send(kind: str, body: str) -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        headers = {"Authorization": args.bearer, "Content-Type": "application/json"}
        while time.monotonic() < deadline:
            connection.request("POST", args.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            with lock:
                answers[(kind, response.status)] += 1

    threads = [threading.Thread(target=send, args=("bad", deep)) for _ in range(args.bad)]
    threads += [threading.Thread(target=send, args=("good", good)) for _ in range(args.good)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for (kind, status), count in sorted(answers.items()):
        print(f"{kind:5} {status}: {count}")
    good_total = sum(count for (kind, _), count in answers.items() if kind == "good")
    good_failed = sum(count for (kind, status), count in answers.items() if kind == "good" and status != 200)
    print(f"ordinary publishes: {good_total}, not answered 200: {good_failed}")


if __name__ == "__main__":
    main()
