"""``banyan worker``: the background jobs of response — alerts whose rule says so open incidents,
missed deadlines escalate (and silent responders are replaced), the daily care check-in messages
are sent when due, missed check-ins are retried and then visited, notifications go out.

A round runs every ``--interval`` seconds, and at once when an ``alert.raised`` event arrives on the
bus (with ``BANYAN_BUS=mqtt``, from ``banyan ingest`` through the broker): an alert opens its
incident within moments, not at the next tick."""

import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import connection

from banyan.care.circle import tell_carers_of_alerts
from banyan.care.daily import send_daily_checkins
from banyan.care.visits import follow_missed
from banyan.core import events
from banyan.core.bus_mqtt import start_from_settings
from banyan.core.events import EventName
from banyan.emergency.epidemic.services import sweep as epidemic_sweep
from banyan.emergency.purge import purge_due
from banyan.emergency.relay.services import sweep as relay_sweep
from banyan.emergency.rollcall.services import follow_up_roll_calls
from banyan.emergency.triggers import sweep as propose_emergencies
from banyan.notify.services import send_pending
from banyan.response.services import escalate_due, open_incidents_for_alerts, redispatch_waiting

log = logging.getLogger("banyan.worker")


def run_once() -> dict[str, int]:
    opened = open_incidents_for_alerts()
    escalated = escalate_due()
    redispatched = redispatch_waiting()  # incidents nobody was free for go to the first who is
    asked = send_daily_checkins()  # the daily check-in messages due by now, once per plan per day
    told = tell_carers_of_alerts()  # the carers of those at the home of a new alert, once per alert
    # missed check-ins (and inactivity alerts of those with a plan): retries, then a visit on foot
    followed = follow_missed()
    roll_call = follow_up_roll_calls()  # roll calls: door-knocking visits for those who did not answer
    relayed = relay_sweep()  # official warnings relayed to residents; doors knocked for notices missed
    sent = send_pending()
    return {
        "opened": len(opened),
        "escalated": len(escalated),
        "redispatched": redispatched,
        "asked": asked,
        "told": told,
        "retried": followed["retried"],
        "visits": followed["visits"],
        "door_knocks": roll_call["visits"],
        "relayed": relayed,
        "epidemic": sum(epidemic_sweep().values()),  # isolation check-ins asked and missed, deliveries done
        "sent": sent.total,
        "proposed": propose_emergencies(),  # plans triggered by government warnings and local alerts
        "purged": purge_due(),  # emergencies whose retention ran out forget what they gathered about people
    }


class Command(BaseCommand):
    help = "Background jobs: alerts open incidents, missed deadlines escalate, notifications are sent."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between rounds")
        parser.add_argument("--once", action="store_true", help="one round, then exit")

    def handle(self, *args, interval: float, once: bool, **options):
        if once:
            self.stdout.write(str(run_once()))
            return
        stopping = False
        wake = threading.Event()

        def stop(signum, frame):
            nonlocal stopping
            stopping = True
            wake.set()

        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, stop)
        unsubscribe = events.subscribe(EventName.ALERT_RAISED, lambda name, payload: wake.set())
        bridge = start_from_settings()  # hears ingest's alerts; the incidents it opens reach the cockpit
        self.stdout.write(f"worker running every {interval:g} s")
        self.stdout.flush()
        try:
            while not stopping:
                wake.clear()  # an alert raised during the round asks for another one at once
                try:
                    counts = run_once()
                except Exception as exc:  # noqa: BLE001 -- one failed round never ends the worker
                    log.error("worker round failed (%s); retrying", type(exc).__name__)
                    connection.close()
                    counts = {}
                if any(counts.values()):
                    log.info("worker: %s", counts)
                wake.wait(interval)
        finally:
            unsubscribe()
            if bridge is not None:
                bridge.stop()
