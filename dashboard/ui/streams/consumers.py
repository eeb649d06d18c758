"""Live sockets of the event-sourcing pages, on the shared LiveConsumer (login required, hints re-read the
database, acknowledged frames, a heartbeat in case a hint was lost)."""

from channels.db import database_sync_to_async
from django.template.loader import render_to_string

from dashboard.eventsourcing.streams import InvalidStream, StreamName
from dashboard.eventsourcing.timeline import StreamTimeline
from dashboard.ui import broadcast
from dashboard.ui.consumers import LiveConsumer
from dashboard.ui.roles import is_operator

from .pages import projections_context, replays_context


class StreamTimelineConsumer(LiveConsumer):
    """A stream page: appends the events after the version the page shows, with the state after each."""

    group = broadcast.EVENTS_GROUP
    update_interval = 0.2

    async def setup(self, params: dict[str, str]) -> bool:
        try:
            stream = StreamName(params.get("type", ""), params.get("id", ""))
        except InvalidStream:
            return False
        after = params.get("after", "")
        self.timeline = StreamTimeline(stream)
        # Fold what the page already shows, so states of new events follow on from it.
        await database_sync_to_async(self.timeline.advance)(int(after) if after.isdigit() else None)
        return True

    async def events_stored(self, message: dict) -> None:
        self.request_update()

    def read_update(self) -> list[str]:
        entries = self.timeline.advance()
        if not entries:
            return []
        return [
            render_to_string("dashboard/streams/partials/timeline_update.html", {"entries": entries}),
            render_to_string("dashboard/streams/partials/stream_version.html", {"version": self.timeline.version}),
        ]


class _TableConsumer(LiveConsumer):
    """Re-renders one table body and sends it only when it changed."""

    update_interval = 0.5
    template: str

    async def setup(self, params: dict[str, str]) -> bool:
        self.user = self.scope["user"]
        self.can_operate = await database_sync_to_async(is_operator)(self.user)
        self.last_html = ""
        return True

    def context(self) -> dict:
        raise NotImplementedError

    def read_update(self) -> list[str]:
        html = render_to_string(self.template, self.context() | {"can_operate": self.can_operate, "oob": True})
        if html == self.last_html:
            return []
        self.last_html = html
        return [html]


class ProjectionsConsumer(_TableConsumer):
    group = broadcast.PROJECTIONS_GROUP
    template = "dashboard/streams/partials/projection_rows.html"

    async def projections_changed(self, message: dict) -> None:
        self.request_update()

    def context(self) -> dict:
        return projections_context(self.user)


class ReplaysConsumer(_TableConsumer):
    group = broadcast.REPLAYS_GROUP
    template = "dashboard/streams/partials/replay_rows.html"

    async def replays_changed(self, message: dict) -> None:
        self.request_update()

    def context(self) -> dict:
        return replays_context(self.user)
