import time

from aiohttp import web
from django.core.management.base import BaseCommand, CommandError

from dashboard.delivery.signing import verify


class Command(BaseCommand):
    help = (
        "A local webhook receiver for trying EventHub out: prints every request it gets, and whether its "
        "Standard Webhooks signature verifies with --secret (the target's signing secret)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=9000)
        parser.add_argument("--secret", default="", help="The target's signing secret (whsec_...).")
        parser.add_argument("--status", type=int, default=200, help="The status to answer with.")

    def handle(self, *args, port: int, secret: str, status: int, **options) -> None:
        async def receive(request: web.Request) -> web.Response:
            body = await request.read()
            if secret:
                verdict = "signature OK" if verify(secret, dict(request.headers), body, now=int(time.time())) else "BAD"
            else:
                verdict = "signature not checked (no --secret)"
            self.stdout.write(
                f"{request.method} {request.path} webhook-id={request.headers.get('webhook-id')} {verdict}"
            )
            self.stdout.write(body.decode("utf-8", errors="replace"))
            return web.Response(status=status, text="ok")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", receive)
        listening = f"Listening on http://127.0.0.1:{port}/ (Ctrl-C stops)"
        try:
            # aiohttp calls `print` once the socket is bound, so the line is never printed for a port in use.
            web.run_app(app, host="127.0.0.1", port=port, print=lambda _: self.stdout.write(listening), access_log=None)
        except OSError as error:
            raise CommandError(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
