from django.core.management.base import BaseCommand, CommandError

from dashboard import seeding


class Command(BaseCommand):
    help = (
        "Append a realistic history for scale tests: N events over several buses and sources, Order streams, "
        "deliveries in every state, dead letters with attempts. COPY on PostgreSQL. Not while publishing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--events", type=int, required=True, help="How many events to add.")
        parser.add_argument("--days", type=float, default=30, help="Spread them over this many days up to now.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (the same seed gives the same mix).")

    def handle(self, *args, events: int, days: float, seed: int, **options) -> None:
        if events < 1 or days <= 0:
            raise CommandError("--events must be at least 1 and --days positive")
        report = seeding.seed_history(
            events, days=days, seed=seed, progress=lambda done: self.stderr.write(f"{done} events")
        )
        self.stdout.write(
            f"{report.events} events, {report.deliveries} deliveries, {report.attempts} attempts "
            f"in {report.seconds:.1f} s ({report.events_per_second:,.0f} events/s)"
        )
