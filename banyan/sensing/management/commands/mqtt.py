"""``banyan mqtt``: the broker's accounts from Banyan's device registry (README "MQTT security").

- ``banyan mqtt sync [--password-file P] [--acl-file A] [--simulator] [--reload [--pid-file F]]``
  writes Mosquitto's password file and ACL file (atomically, 0640 with the ``mosquitto`` group, or
  0600) for Banyan's service accounts and every device that has a secret; ``--reload`` then sends
  SIGHUP to the broker so that it reads them again.
- ``banyan mqtt secret CODE`` issues (or rotates) a device's secret and prints its username and,
  as the last line, the secret: it is shown this once and stored only as the broker's hash.
- ``banyan mqtt revoke CODE`` takes the device's account away. Both take effect at the next sync.
- ``banyan mqtt frigate COMMUNITY`` prints the username and, as the last line, the password of that
  community's Frigate, which may write only ``frigate/<COMMUNITY>/#``.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from banyan.core.mqtt import MqttKeyError
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.sensing.models import Device
from banyan.sensing.mqtt_accounts import (
    FRIGATE_USERNAME,
    frigate_password,
    issue_device_secret,
    reload_broker,
    revoke_device_secret,
    sync_broker_files,
)


class Command(BaseCommand):
    help = (
        "Broker accounts from the device registry: `banyan mqtt sync` writes Mosquitto's password and "
        "ACL files; `banyan mqtt secret CODE` issues or rotates a device's secret (printed once); "
        "`banyan mqtt revoke CODE` removes it."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        sync = sub.add_parser("sync", help="write the broker's password and ACL files from the registry")
        sync.add_argument(
            "--password-file",
            default=settings.BANYAN_MQTT_PASSWORD_FILE,
            help="default BANYAN_MQTT_PASSWORD_FILE (%(default)s)",
        )
        sync.add_argument(
            "--acl-file",
            default=settings.BANYAN_MQTT_ACL_FILE,
            help="default BANYAN_MQTT_ACL_FILE (%(default)s)",
        )
        sync.add_argument(
            "--simulator",
            action="store_true",
            help="also the simulator's account banyan-sim, which may publish any device's readings "
            "(demos and tests only)",
        )
        sync.add_argument("--reload", action="store_true", help="then SIGHUP the broker to read them again")
        sync.add_argument(
            "--pid-file",
            default=settings.BANYAN_MQTT_PID_FILE,
            help="the broker's pid file, for --reload (default BANYAN_MQTT_PID_FILE, %(default)s)",
        )
        for verb, text in (
            ("secret", "issue or rotate a device's secret; prints it once, as the last line"),
            ("revoke", "remove a device's broker account"),
        ):
            parser_ = sub.add_parser(verb, help=text)
            parser_.add_argument("code", help="the device's code")

        frigate = sub.add_parser(
            "frigate", help="print the broker username and password of a community's Frigate (last line)"
        )
        frigate.add_argument("community", help="the community's code")

    def handle(self, *args, verb, **options):
        if verb == "sync":
            return self.handle_sync(**options)
        if verb == "frigate":
            return self.handle_frigate(options["community"])
        device = Device.objects.select_related("community").filter(code=options["code"]).first()
        if device is None:
            raise CommandError(f"no device with the code {options['code']!r}", returncode=1)
        if verb == "secret":
            issued = issue_device_secret(actor=None, device=device)
            self.stdout.write(f"username: {issued.username}")
            self.stdout.write("secret (shown once; run `banyan mqtt sync --reload` to let it in):")
            self.stdout.write(issued.secret)
        elif revoke_device_secret(actor=None, device=device):
            self.stdout.write(f"{device.code}: broker account removed (at the next `banyan mqtt sync`)")
        else:
            self.stdout.write(f"{device.code} had no broker account")
        return None

    def handle_frigate(self, community: str) -> None:
        if not Region.objects.filter(kind=RegionKind.COMMUNITY, code=community).exists():
            raise CommandError(f"no community with the code {community!r}", returncode=1)
        try:
            password = frigate_password(community)
        except MqttKeyError as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(f"username: {FRIGATE_USERNAME.format(community=community)}")
        self.stdout.write(f"topic prefix: frigate/{community}  (Frigate's mqtt.topic_prefix)")
        self.stdout.write("password:")
        self.stdout.write(password)

    def handle_sync(self, *, password_file, acl_file, simulator, reload, pid_file, **_options):
        try:
            result = sync_broker_files(
                password_file=Path(password_file), acl_file=Path(acl_file), simulator=simulator
            )
        except MqttKeyError as exc:
            raise CommandError(str(exc), returncode=1) from None
        except OSError as exc:
            raise CommandError(f"cannot write the broker's files: {exc}", returncode=1) from None
        self.stdout.write(
            f"wrote {result.service_accounts} service accounts and {result.devices} devices to "
            f"{result.password_file} and {result.acl_file}"
        )
        if reload:
            try:
                pid = reload_broker(Path(pid_file))
            except (OSError, ValueError) as exc:
                raise CommandError(
                    f"cannot reload the broker from {pid_file}: {exc} (or: systemctl reload mosquitto)",
                    returncode=1,
                ) from None
            self.stdout.write(f"broker {pid} reloaded")
        return None
