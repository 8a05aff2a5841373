from django.core.management.base import BaseCommand
from django.db import transaction

from banyan.core import vault
from banyan.people.services import rekey_all


class Command(BaseCommand):
    help = (
        "PII vault keys: `newkey` prints fresh data, index and audit keys, `rekey` re-encrypts and "
        "re-indexes everything (the audit chain is re-keyed by `banyan audit rekey`)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser("newkey", help="print a new data key, index key and audit key (key-file lines)")
        sub.add_parser(
            "rekey",
            help="re-encrypt every personal value with the newest data key and "
            "recompute every blind index with the current index key",
        )

    def handle(self, *args, verb, **options):
        if verb == "newkey":
            self.stdout.write(f"data={vault.generate_data_key()}")
            self.stdout.write(f"index={vault.generate_index_key()}")
            self.stdout.write(f"audit={vault.generate_audit_key()}")
            return

        with transaction.atomic():
            counts = rekey_all()
        for model, count in counts.items():
            self.stdout.write(f"{model}: {count} rows re-encrypted")
