import signal
import time

from django.core.management.base import BaseCommand

from banyan.notify.services import send_pending


class Command(BaseCommand):
    help = (
        "Notification tools: `banyan notify send-pending` sends the deliveries that are due (retrying "
        "failed ones with backoff); with --loop it keeps doing so, as `banyan worker` does."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        send = sub.add_parser("send-pending", help="send every email, SMS and call that is due")
        send.add_argument("--loop", action="store_true", help="keep sending until stopped (SIGINT/SIGTERM)")
        send.add_argument("--interval", type=float, default=2.0, help="seconds between rounds with --loop")

    def handle(self, *args, verb, loop=False, interval=2.0, **options):
        if not loop:
            self._report(send_pending(), always=True)
            return
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"sending notifications every {interval:g} s")
        self.stdout.flush()
        try:
            while not stopping:
                counts = send_pending()
                self._report(counts, always=False)
                if counts.total == 0:
                    time.sleep(interval)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _report(self, counts, *, always: bool) -> None:
        if always or counts.total:
            self.stdout.write(
                f"sent {counts.sent}, delivered {counts.delivered}, retrying {counts.retrying}, "
                f"failed {counts.failed}, cancelled {counts.cancelled}"
            )
            self.stdout.flush()
