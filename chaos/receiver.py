"""A webhook receiver that records every request and answers as each target is told to.

    python -m chaos.receiver --port 8123

Webhooks go to `/t/<name>`; each name has a behaviour, set with `POST /_behaviour/<name>` and a JSON body:

    {"status": 200}                           answer this status (default 200)
    {"statuses": [500, "reset", "hang", 200]} answer these in turn per webhook-id, then the last one forever
                                              ("reset": TCP reset, "hang": wait `hang_seconds`, default 30)
    {"fail_until": <unix time>, "status": 500} this status until then, 200 afterwards
    {"retry_after": 3}                        add `Retry-After: 3`
    {"delay": 0.5}                            wait before answering
    {"hang": 60}                              wait this long (a hanging target)
    {"reset": true}                           close the connection with a TCP reset instead of answering

`GET /_records` returns every request seen (target, webhook-id, event id, times, status answered);
`GET /_stats` the counts only. It runs in its own process so it never shares a GIL with the load.
"""

import argparse
import asyncio
import socket
import struct
import time
from collections import defaultdict

import orjson
from aiohttp import web


class Receiver:
    def __init__(self) -> None:
        self.records: list[dict] = []
        self.behaviours: dict[str, dict] = {}
        self.seen_per_id: dict[tuple[str, str], int] = defaultdict(int)
        self.ok_ids: set[str] = set()

    def answer_for(self, name: str, webhook_id: str) -> dict:
        behaviour = self.behaviours.get(name, {})
        status = behaviour.get("status", 200)
        if "statuses" in behaviour:
            sequence = behaviour["statuses"]
            status = sequence[min(self.seen_per_id[(name, webhook_id)], len(sequence) - 1)]
        if "fail_until" in behaviour and time.time() >= behaviour["fail_until"]:
            status = 200
        return behaviour | {"status": status}

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        received = time.time()
        body = await request.read()
        name = request.match_info["name"]
        webhook_id = request.headers.get("webhook-id", "")
        answer = self.answer_for(name, webhook_id)
        self.seen_per_id[(name, webhook_id)] += 1
        record = {
            "target": name,
            "webhook_id": webhook_id,
            "received_at": received,
            "webhook_timestamp": request.headers.get("webhook-timestamp", ""),
            "replay": request.headers.get("replay-name", ""),
        }
        try:
            envelope = orjson.loads(body)
        except orjson.JSONDecodeError:
            envelope = None
        if isinstance(envelope, dict):
            record["event_id"] = envelope.get("id")
            detail = envelope.get("detail")
            if isinstance(detail, dict):
                record["sent_at"] = detail.get("sent_at")
        # Recorded on arrival (status filled in when answered), so a hanging request is already counted.
        record["status"] = None
        self.records.append(record)
        if answer.get("hang"):
            await asyncio.sleep(answer["hang"])
        if answer["status"] == "hang":
            await asyncio.sleep(answer.get("hang_seconds", 30))
            answer["status"] = 200
        if answer.get("delay"):
            await asyncio.sleep(answer["delay"])
        if answer.get("reset") or answer["status"] == "reset":
            record["status"] = "reset"
            _reset(request)
            return web.Response(status=500)
        record["status"] = answer["status"]
        record["answered_at"] = time.time()
        if 200 <= answer["status"] < 300:
            self.ok_ids.add(webhook_id)
        headers = {"Retry-After": str(answer["retry_after"])} if answer.get("retry_after") is not None else {}
        return web.Response(status=answer["status"], text="ok", headers=headers)

    async def set_behaviour(self, request: web.Request) -> web.Response:
        self.behaviours[request.match_info["name"]] = await request.json(loads=orjson.loads)
        return web.json_response({"ok": True})

    async def get_records(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(self.records), content_type="application/json")

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": len(self.records), "ok_unique": len(self.ok_ids)})

    async def reset_all(self, request: web.Request) -> web.Response:
        self.__init__()
        return web.json_response({"ok": True})


def _reset(request: web.Request) -> None:
    """Abort with SO_LINGER 0, so the client sees a TCP RST (connection reset by peer)."""
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if request.transport:
        request.transport.abort()


def build_app() -> web.Application:
    receiver = Receiver()
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_route("*", "/t/{name}", receiver.webhook)
    app.router.add_post("/_behaviour/{name}", receiver.set_behaviour)
    app.router.add_get("/_records", receiver.get_records)
    app.router.add_get("/_stats", receiver.get_stats)
    app.router.add_post("/_reset", receiver.reset_all)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    main()
