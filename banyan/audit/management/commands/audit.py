from django.core.management.base import BaseCommand, CommandError

from banyan.audit.services import verify


class Command(BaseCommand):
    help = "Audit log tools: `banyan audit verify` checks the hash chain (exit 0 intact, 1 broken)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("verify", help="recompute every hash and link of the chain")

    def handle(self, *args, verb, **options):
        result = verify()
        if result.ok:
            self.stdout.write(f"audit chain intact: {result.checked} entries")
            return
        raise CommandError(
            f"audit chain broken at entry {result.bad_id}: {result.reason} "
            f"({result.checked} entries verified before it)",
            returncode=1,
        )
