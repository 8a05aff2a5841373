from django.core.management.base import BaseCommand, CommandError

from banyan.core.errors import BanyanError
from banyan.response.reports import services as reports


class Command(BaseCommand):
    help = (
        "Open311 API keys: `banyan open311 key create NAME` prints a new api_key as its last line; "
        "`banyan open311 key revoke NAME` revokes it."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="noun", required=True)
        key = sub.add_parser("key", help="manage the api_keys that may post service requests")
        verbs = key.add_subparsers(dest="verb", required=True)
        verbs.add_parser("create", help="create a key named NAME").add_argument("name")
        verbs.add_parser("revoke", help="revoke the key named NAME").add_argument("name")

    def handle(self, *args, noun, verb, name, **options):
        try:
            if verb == "create":
                raw = reports.create_open311_key(name)
                self.stderr.write(f"Open311 api_key {name!r}; it is shown once, keep it safe:")
                self.stdout.write(raw)
            else:
                reports.revoke_open311_key(name)
                self.stdout.write(f"revoked the Open311 api_key {name!r}")
        except BanyanError as exc:
            raise CommandError(exc.message) from None
