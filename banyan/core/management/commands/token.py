from django.core.management.base import BaseCommand, CommandError

from banyan.core.auth import create_token


class Command(BaseCommand):
    help = "Manage personal API tokens: `banyan token create USERNAME` prints a new token as its last line."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create", help="create a token for USERNAME")
        create.add_argument("username")
        create.add_argument("--name", default="")
        revoke = sub.add_parser("revoke", help="revoke every token of USERNAME")
        revoke.add_argument("username")

    def handle(self, *args, verb, username, **options):
        from banyan.people.models import User

        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active account named {username!r}")
        if verb == "create":
            raw = create_token(user, name=options.get("name", ""))
            self.stderr.write(f"token for {username} (role {user.role}); it is shown once, keep it safe:")
            self.stdout.write(raw)
        else:
            count = user.api_tokens.filter(is_revoked=False).update(is_revoked=True)
            self.stdout.write(f"revoked {count} token(s) of {username}")
