from django.core.management.base import BaseCommand, CommandError

from banyan.audit.services import ChainBroken, VerifyResult, anchor_path, reanchor, rekey, verify

# Exit codes: 0 intact, 1 broken (tampering, or an unusable anchor file), 3 the anchor file belongs to
# another audit chain (this database's chain verifies on its own; 2 is argparse's usage error).
OTHER_CHAIN = 3


def _broken(result: VerifyResult) -> CommandError:
    if result.other_chain:
        message = (
            f"audit chain not anchored: {result.reason} "
            f"({result.checked} entries verified without the anchor). "
            "If this database was switched or recreated, give each database its own BANYAN_AUDIT_ANCHOR, "
            "or run `banyan audit anchor` to anchor this chain instead; if not, this database's audit log "
            "was replaced."
        )
        return CommandError(message, returncode=OTHER_CHAIN)
    if result.bad_id is None:
        message = f"audit chain broken: {result.reason} ({result.checked} entries verified)"
    else:
        message = (
            f"audit chain broken at entry {result.bad_id}: {result.reason} "
            f"({result.checked} entries verified before it)"
        )
    return CommandError(message, returncode=1)


class Command(BaseCommand):
    help = (
        "Audit log tools: `banyan audit verify` checks the hash chain (exit 0 intact, 1 broken, 3 the anchor "
        "file belongs to another audit chain); "
        "`banyan audit anchor` rewrites the anchor file from the chain's head once the chain verifies; "
        "`banyan audit rekey` re-chains a verified log under the current audit key (after upgrading from "
        "the unkeyed chain, or rotating the key)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        sub.add_parser(
            "verify", help="recompute every hash and link of the chain and compare its end with the anchor"
        )
        sub.add_parser(
            "anchor",
            help="check the chain, then point the anchor file at its head (e.g. after restoring a backup, or "
            "in place of another chain's anchor)",
        )
        sub.add_parser(
            "rekey",
            help="verify the chain (unkeyed SHA-256 entries accepted only before keyed ones; old keys "
            "accepted), then recompute every hash with the current audit key",
        )

    def handle(self, *args, verb, **options):
        if verb == "anchor":
            self.handle_anchor()
        elif verb == "rekey":
            self.handle_rekey()
        else:
            self.handle_verify()

    def handle_verify(self):
        result = verify()
        for note in result.notes:
            self.stdout.write(f"note: {note}")
        if not result.ok:
            raise _broken(result)
        anchored = f", anchored at entry {result.anchored_id}" if result.anchored_id else ""
        self.stdout.write(f"audit chain intact: {result.checked} entries{anchored}")

    def handle_anchor(self):
        try:
            done = reanchor(actor=None)
        except ChainBroken as exc:
            raise _broken(exc.result) from None
        except OSError as exc:
            message = f"cannot write the audit anchor {anchor_path()}: {exc}"
            raise CommandError(message, returncode=1) from None
        if done.previous is None:
            was = "there was no usable anchor"
        elif done.previous.chain not in (None, done.current.chain):
            was = f"it recorded entry {done.previous.id} of another audit chain, {done.previous.chain}"
        else:
            was = f"it recorded entry {done.previous.id}"
        self.stdout.write(f"audit anchor {anchor_path()} now records entry {done.current.id} ({was})")

    def handle_rekey(self):
        try:
            done = rekey(actor=None)
        except ChainBroken as exc:
            raise _broken(exc.result) from None
        self.stdout.write(
            f"audit chain re-keyed: {done.entries} entries checked, {done.rehashed} hashes rewritten; "
            f"entry {done.marker.id} records it"
        )
