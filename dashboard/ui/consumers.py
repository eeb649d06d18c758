"""WebSocket consumers: thin adapters that refuse anonymous users, listen for hints and send rendered fragments.

Pushes are hints (the channel layer drops messages when full); each consumer re-reads the database
from its own cursor, so a lost hint or a reconnect costs a moment of freshness, never an event.
"""

import asyncio
import logging
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.template.loader import render_to_string

from dashboard.models import EventSchema
from dashboard.patterns import InvalidPattern
from dashboard.ui import broadcast, browsing, triage
from dashboard.ui.browsing import EventFilter, TailCursor
from dashboard.ui.roles import is_operator
from dashboard.ui.schemas import pages as pages_schemas

log = logging.getLogger(__name__)

ROWS_PER_UPDATE = 25
ROWS_KEPT = 200  # the browser trims the live table to this many rows
# Updates the browser has not acknowledged yet; past this the consumer waits, so a slow browser gets
# fewer, larger updates instead of a growing queue in the server.
MAX_UNACKED = 2
# Re-read this often even without a hint, because the channel layer may drop hints.
HEARTBEAT_SECONDS = 5.0
# WebSocket close codes (RFC 6455, 7.4.1) for frames the page would never send.
CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_INVALID_DATA = 1007


def query_params(scope: dict) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


class LiveConsumer(AsyncJsonWebsocketConsumer):
    """What every live page shares: re-read on a hint or a heartbeat, at most one update per
    `update_interval`, and never more than MAX_UNACKED updates ahead of the browser's acknowledgements.

    Subclasses set `group` and `update_interval`, prepare themselves in `setup()` (False refuses the
    socket) and render one update in `read_update()`, which runs in a thread and may use the ORM. An
    update is a list of frames: the browser parses each frame on its own, and table rows only parse as
    rows in a frame that starts with a table element, so rows and other markup travel separately.
    """

    group: str
    update_interval: float

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.started = False
        if user is None or not user.is_authenticated or not await self.setup(query_params(self.scope)):
            await self.close()
            return
        self.unacked = 0
        self.dirty = False
        self.last_sent = 0.0
        self.drain_task: asyncio.Task | None = None
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        self.started = True
        self.heartbeat_task = asyncio.create_task(self._heartbeat())
        self.request_update()

    async def setup(self, params: dict[str, str]) -> bool:
        raise NotImplementedError

    def read_update(self) -> list[str]:
        raise NotImplementedError

    async def on_action(self, action: str) -> None:
        """A control message from the page other than an acknowledgement (none by default)."""

    async def disconnect(self, code: int) -> None:
        if not self.started:
            return
        for task in (self.heartbeat_task, self.drain_task):
            if task is not None:
                task.cancel()
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        """The page sends small JSON objects; anything else closes the socket with the RFC 6455 code for
        it (1003 binary, 1007 not JSON or nested too deep) and one warning line, never a traceback."""
        if text_data is None:
            await self._refuse_frame(CLOSE_UNSUPPORTED_DATA, "a binary frame")
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):
            await self._refuse_frame(CLOSE_INVALID_DATA, "a frame that is not JSON (or is nested too deep)")
            return
        await self.receive_json(content, **kwargs)

    async def _refuse_frame(self, code: int, what: str) -> None:
        user = self.scope.get("user")
        log.warning("closed %s socket of %s (%d): it sent %s", self.group, getattr(user, "pk", None), code, what)
        await self.close(code=code)

    async def receive_json(self, content: dict, **kwargs) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "ack":
            self.unacked = max(0, self.unacked - 1)
            if self.dirty:
                self.request_update()
        elif isinstance(action, str):
            await self.on_action(action)

    def request_update(self) -> None:
        self.dirty = True
        if self.drain_task is None or self.drain_task.done():
            self.drain_task = asyncio.create_task(self._drain())

    async def send_update(self, frames: list[str]) -> None:
        if not frames:
            return
        for frame in frames:
            self.unacked += 1  # the page acknowledges every frame it has swapped in
            await self.send(text_data=frame)
        self.last_sent = asyncio.get_running_loop().time()

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.dirty and self.unacked < MAX_UNACKED:
            wait = self.last_sent + self.update_interval - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.dirty = False
            try:
                update = await database_sync_to_async(self.read_update)()
            except Exception:  # noqa: BLE001 - a failed read must not kill the socket; the heartbeat retries
                log.exception("live update of %s failed", self.group)
                return
            await self.send_update(update)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.request_update()


class EventTailConsumer(LiveConsumer):
    """The live tail of the event stream page: batches new events that pass the operator's filter."""

    group = broadcast.EVENTS_GROUP
    # At most ten updates a second per browser, whatever the event rate (the rest is counted as "N more").
    update_interval = 0.1

    async def setup(self, params: dict[str, str]) -> bool:
        try:
            self.filter = EventFilter.from_query(params)
        except InvalidPattern:
            return False
        after = params.get("after", "")
        start = int(after) if after.isdigit() else await database_sync_to_async(browsing.newest_position)()
        self.cursor = TailCursor(position=start)
        self.paused = False
        self.missed = 0  # matching events that arrived while paused
        return True

    async def events_stored(self, message: dict) -> None:
        if message.get("position", 0) > self.cursor.position or self.cursor.holes:
            self.request_update()

    async def on_action(self, action: str) -> None:
        if action == "pause" and not self.paused:
            self.paused, self.missed = True, 0
            await self.send_update([self._controls_html()])
        elif action == "resume" and self.paused:
            self.paused = False
            await self.send_update(await database_sync_to_async(self._resume)())

    def read_update(self) -> list[str]:
        batch = browsing.read_tail(self.filter, self.cursor, show=ROWS_PER_UPDATE)
        if self.paused:
            if not batch.matched:
                return []
            self.missed += batch.matched
            return [self._controls_html()]
        if batch.is_empty:
            return []
        return [
            render_to_string("dashboard/partials/tail_update.html", {"events": batch.shown, "skipped": batch.skipped})
        ]

    def _resume(self) -> list[str]:
        """Back to live: a fresh first page replaces the table, then the tail goes on from there."""
        top = browsing.newest_position()
        page = browsing.history_page(self.filter, before=top + 1)
        self.cursor = TailCursor(position=top)
        self.missed = 0
        context = {
            "page": page,
            "event_filter": self.filter,
            "filter_qs": self.filter.query_string(),
            "paused": False,
            "rows_kept": ROWS_KEPT,
            "scan_rows": browsing.HISTORY_SCAN_ROWS,
            "oob": True,
        }
        return [
            render_to_string("dashboard/partials/tail_reset.html", context),
            self._controls_html(),
            render_to_string("dashboard/partials/history_more.html", context),
        ]

    def _controls_html(self) -> str:
        return render_to_string(
            "dashboard/partials/tail_controls.html", {"paused": self.paused, "missed": self.missed, "oob": True}
        )


class DeadLetterConsumer(LiveConsumer):
    """Keeps the dead-letter page current: groups and counts, rows that left, rows that arrived.

    Rows are added and removed one by one (never the whole table), so the operator's ticked boxes stay.
    """

    group = broadcast.DELIVERIES_GROUP
    update_interval = 0.5  # dead letters change in bursts; two updates a second is plenty

    async def setup(self, params: dict[str, str]) -> bool:
        self.filter = triage.TriageFilter.from_query(params)
        self.can_redrive = await database_sync_to_async(is_operator)(self.scope["user"])
        self.shown: list[str] = []
        self.summary: tuple | None = None
        return True

    async def deliveries_changed(self, message: dict) -> None:
        self.request_update()

    def read_update(self) -> list[str]:
        dead = self.filter.queryset()
        current = triage.rows(dead)
        ids = [str(delivery.id) for delivery in current]
        summary = (dead.count(), triage.groups(dead))
        if ids == self.shown and summary == self.summary:
            return []
        context = {
            "total": summary[0],
            "groups": summary[1],
            "can_redrive": self.can_redrive,
            "triage_filter": self.filter,
            "page_rows": triage.PAGE_ROWS,
        }
        frames = [render_to_string("dashboard/partials/dlq_summary.html", {**context, "oob": True})]
        shown = set(self.shown)
        staying = [delivery_id for delivery_id in ids if delivery_id in shown]
        if self.summary is None or not staying:
            frames.append(render_to_string("dashboard/partials/dlq_replace.html", {**context, "rows": current}))
        elif ids != self.shown:
            present = set(ids)
            gone = [delivery_id for delivery_id in self.shown if delivery_id not in present]
            first_staying = ids.index(staying[0])
            arrived = [(n, delivery) for n, delivery in enumerate(current) if str(delivery.id) not in shown]
            if gone:
                frames.append(render_to_string("dashboard/partials/dlq_gone.html", {"gone": gone}))
            if arrived:
                context.update(
                    on_top=[delivery for n, delivery in arrived if n < first_staying],
                    below=[delivery for n, delivery in arrived if n >= first_staying],
                )
                frames.append(render_to_string("dashboard/partials/dlq_arrived.html", context))
        self.shown, self.summary = ids, summary
        return frames


class SchemasConsumer(LiveConsumer):
    """Keeps the Schemas pages current: the registry table, or with `?schema=<id>` that schema's recent
    violations. Hints come with new versions, modes and violations; event traffic, which moves with every
    event, is re-read on the heartbeat. An update goes out only when the table changed."""

    group = broadcast.SCHEMAS_GROUP
    update_interval = 0.5

    async def setup(self, params: dict[str, str]) -> bool:
        self.last_html = ""
        self.schema_id: int | None = None
        wanted = params.get("schema", "")
        if wanted:
            if not wanted.isdigit() or len(wanted) > 18:
                return False
            self.schema_id = int(wanted)
            return await EventSchema.objects.filter(pk=self.schema_id).aexists()
        return True

    async def schemas_changed(self, message: dict) -> None:
        self.request_update()

    def read_update(self) -> list[str]:
        if self.schema_id is None:
            html = render_to_string(
                "dashboard/schemas/partials/schema_rows.html", {"rows": pages_schemas.schema_rows(), "oob": True}
            )
        else:
            schema = EventSchema.objects.filter(pk=self.schema_id).first()
            if schema is None:
                return []
            context = {"schema": schema, "violations": pages_schemas.recent_violations(schema), "oob": True}
            html = render_to_string("dashboard/schemas/partials/violations.html", context)
        if html == self.last_html:
            return []
        self.last_html = html
        return [html]
