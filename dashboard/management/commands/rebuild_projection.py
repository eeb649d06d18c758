from django.core.management.base import BaseCommand, CommandError

from dashboard.eventsourcing import projection_runner
from dashboard.eventsourcing.projections import UnknownProjection


class Command(BaseCommand):
    help = (
        "Rebuild a projection blue/green: fill a new generation of its read model from position 0 while the "
        "live one keeps serving, then swap it in atomically. Runs beside `manage.py project`."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="The projection's registered name, e.g. order_views.")
        parser.add_argument("--batch", type=int, default=None, help="Events per transaction.")

    def handle(self, *args, name: str, batch: int | None, **options) -> None:
        try:
            projection_runner.rebuild(name, batch)
        except UnknownProjection as error:
            raise CommandError(str(error)) from None
        except projection_runner.RebuildFailed as error:
            raise CommandError(f"rebuild of {name} stopped on a failing event:\n{error}") from None
        state = projection_runner.state_of(name)
        self.stdout.write(f"{name}: generation {state.live_generation} is live at position {state.position}")
