from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dashboard.models import Rule, Target


class Command(BaseCommand):
    help = (
        "Create a rule with one target from the shell (the admin at /admin/ does the same with more options). "
        "Prints the target's signing secret for the receiver."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--pattern", required=True, help="EventBridge event pattern (JSON).")
        parser.add_argument("--bus", default="default")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--webhook", help="URL the matching events are POSTed to.")
        target.add_argument("--handler", help="Dotted path of a Python callable(event).")

    def handle(self, *args, name: str, pattern: str, bus: str, webhook: str | None, handler: str | None, **options):
        rule = Rule(bus=bus, name=name, event_pattern=pattern)
        if webhook:
            target = Target(name="webhook", kind=Target.Kind.WEBHOOK, url=webhook)
        else:
            target = Target(name="handler", kind=Target.Kind.PYTHON, handler=handler)
        try:
            with transaction.atomic():
                rule.full_clean()
                rule.save()
                target.rule = rule
                target.full_clean()
                target.save()
        except ValidationError as error:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
            raise CommandError(problems) from None
        self.stdout.write(f"rule {rule.pk} ({rule}) -> target {target.pk} ({target.kind})")
        if webhook:
            self.stdout.write(f"signing secret: {target.signing_secret}")
