"""`banyan token …`: personal and gateway API tokens from the command line (audited, actor "system")."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from banyan.core import clock
from banyan.core.errors import BanyanError
from banyan.people.auth import DEFAULT_DAYS, MAX_DAYS, TokenScope
from banyan.people.models import ApiToken, User
from banyan.people.tokens import ensure_gateway_account, issue_token, revoke_all_tokens, revoke_token
from banyan.places.models import Region


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = (
        "Manage API tokens: `banyan token create USERNAME [--scope S …] [--days N] [--name NAME]` prints a "
        "new token as its last line; `list [USERNAME]`; `revoke USERNAME` or `revoke --id ID`; "
        "`gateway COMMUNITY` makes a readings:write token for the community's gateway account."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        scopes = [str(s) for s in TokenScope]
        create = sub.add_parser("create", help="create a token for USERNAME (printed once, as the last line)")
        create.add_argument("username")
        create.add_argument("--name", default="")
        create.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            choices=scopes,
            help="read, write (default) or readings:write; repeat for several",
        )
        create.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"lifetime, 1–{MAX_DAYS} days")
        gateway = sub.add_parser(
            "gateway", help="a readings:write token for the gateway account of a community (made if missing)"
        )
        gateway.add_argument("community", help="the community's code")
        gateway.add_argument("--name", default="gateway")
        gateway.add_argument("--days", type=int, default=DEFAULT_DAYS)
        listing = sub.add_parser("list", help="list tokens (never the token itself), of USERNAME or everyone")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="revoke every live token of USERNAME, or one token by --id")
        revoke.add_argument("username", nargs="?")
        revoke.add_argument("--id", dest="token_id", type=int)

    def handle(self, *args, verb, **options):
        try:
            getattr(self, f"handle_{verb}")(**options)
        except BanyanError as exc:
            field = f"{exc.field}: " if exc.field else ""
            raise CommandError(f"{field}{exc.message}") from None

    def _user(self, username):

        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active account named {username!r}")
        return user

    def _print_new(self, user, issued):
        token = issued.token
        self.stderr.write(
            f"token {token.prefix}… for {user.username} (role {user.role}), scopes {' '.join(token.scopes)}, "
            f"expires {_when(token.expires_at)}; it is shown once, keep it safe:"
        )
        self.stdout.write(issued.raw)

    def handle_create(self, *, username, name, scopes, days, **options):

        user = self._user(username)
        issued = issue_token(actor=None, user=user, name=name, scopes=scopes, days=days)
        self._print_new(user, issued)

    def handle_gateway(self, *, community, name, days, **options):

        region = Region.objects.filter(code=community, kind="community").first()
        if region is None:
            raise CommandError(f"no community with the code {community!r}")
        user = ensure_gateway_account(actor=None, community=region)
        issued = issue_token(actor=None, user=user, name=name, scopes=[TokenScope.READINGS_WRITE], days=days)
        self._print_new(user, issued)

    def handle_list(self, *, username, **options):

        tokens = ApiToken.objects.select_related("user").order_by("user__username", "-created_at", "-id")
        if username:
            tokens = tokens.filter(user=self._user(username))
        self.stdout.write("id\tuser\tprefix\tname\tscopes\tcreated\tlast used\texpires\tstate")
        for t in tokens:
            state = "revoked" if t.is_revoked else ("expired" if t.expires_at <= _now() else "live")
            self.stdout.write(
                f"{t.pk}\t{t.user.username}\t{t.prefix}…\t{t.name}\t{' '.join(t.scopes)}\t"
                f"{_when(t.created_at)}\t{_when(t.last_used_at)}\t{_when(t.expires_at)}\t{state}"
            )

    def handle_revoke(self, *, username, token_id, **options):

        if (username is None) == (token_id is None):
            raise CommandError("name an account (revoke all its tokens) or give --id ID (one token)")
        if token_id is not None:
            token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
            if token is None:
                raise CommandError(f"no token with the id {token_id}")
            revoke_token(actor=None, token=token)
            self.stdout.write(f"revoked token {token.pk} ({token.prefix}…) of {token.user.username}")
            return
        user = self._user(username)
        count = revoke_all_tokens(actor=None, user=user)
        self.stdout.write(f"revoked {count} token(s) of {username}")


def _now():

    return clock.now()
