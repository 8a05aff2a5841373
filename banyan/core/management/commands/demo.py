from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Migrate, seed a synthetic community if the database is empty, and serve it."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--residents", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--demo-password", default="banyan-demo-2026")

    def handle(self, *args, host, port, residents, seed, demo_password, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        call_command("seed", residents=residents, seed=seed, demo_password=demo_password, if_empty=True)
        self.stdout.write(
            f"sign in at http://{host}:{port}/ as admin, director, grid01, grid02, auditor or resident01 "
            f"with the password {demo_password!r}"
        )
        call_command("serve", host=host, port=port)
