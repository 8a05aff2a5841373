import uvicorn
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from banyan.core.deploy import refuse_development_defaults


class Command(BaseCommand):
    help = "Serve the web pages and the API (ASGI, uvicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)

    def handle(self, *args, host, port, workers, **options):
        try:
            refuse_development_defaults()  # outside the demo and the tests (banyan/core/deploy.py)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Banyan at http://{host}:{port}/")
        uvicorn.run(
            "banyan.asgi:application", host=host, port=port, workers=workers, log_level="info", lifespan="off"
        )
