"""`banyan auth unlock USERNAME` and `banyan auth reset-otp USERNAME`: help with signing in."""

from django.core.management.base import BaseCommand, CommandError

from banyan.core.choices import Role
from banyan.core.errors import NotFound
from banyan.people import login, otp
from banyan.people.models import User


class Command(BaseCommand):
    help = (
        "Help with signing in: `banyan auth unlock USERNAME` ends the lockout of an account (or "
        "`--address IP` of a client address) after too many wrong passwords; `banyan auth reset-otp "
        "USERNAME` removes the account's second factor and recovery codes, so it enrols again at the "
        "next sign-in. Both are audited (actor: --as, default `cli`)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        unlock = sub.add_parser("unlock", help="end the lockout of USERNAME (or of --address IP)")
        unlock.add_argument("username", nargs="?", default="")
        unlock.add_argument("--address", default="", help="a client address instead of an account")
        unlock.add_argument("--as", dest="actor", default="cli", help="who does it, for the audit log")
        reset = sub.add_parser("reset-otp", help="remove the second factor of USERNAME (a lost phone)")
        reset.add_argument("username")
        reset.add_argument("--as", dest="actor", default="cli", help="who does it, for the audit log")

    def handle(self, *args, verb, username="", actor="cli", **options):
        actor = _actor(actor)
        try:
            if verb == "unlock":
                if options.get("address"):
                    removed = login.unlock_address(actor=actor, ip_address=options["address"])
                    self.stdout.write(f"unlocked the address: {removed} failed attempt record(s) removed")
                    return
                if not username:
                    raise CommandError("name the account (USERNAME) or the address (--address IP)")
                removed = login.unlock_account(actor=actor, username=username)
                self.stdout.write(f"unlocked {username}: {removed} failed attempt record(s) removed")
            else:
                removed = otp.reset_second_factor(actor=actor, username=username)
                self.stdout.write(
                    f"reset the second factor of {username}: {removed} device(s) removed; "
                    "it enrols again at the next sign-in"
                )
        except NotFound:
            raise CommandError(f"no account named {username!r}") from None


def _actor(name: str):
    """An administrator's account when ``--as`` names an active one with the right role, else the name."""

    if name == "cli":
        return "cli"
    user = User.objects.filter(username=name, is_active=True).first()
    if user is None or user.role not in (Role.PLATFORM_ADMIN, Role.COMMUNITY_DIRECTOR, Role.STREET_OFFICER):
        raise CommandError(
            f"--as must name an active administrator, director or street officer, not {name!r}"
        )
    return user
