"""``banyan ingest``: consume device readings and Frigate camera events from the MQTT broker.

Runs until SIGTERM or Ctrl-C; the batch being written is finished and acknowledged first.
See README "Ingest", banyan/sensing/ingest/worker.py for the delivery guarantees.
"""

import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from banyan.core.mqtt import parse_broker_url
from banyan.processes.wiring import rule_pipeline
from banyan.sensing.ingest.worker import IngestConfig, IngestWorker, default_client_id
from banyan.sensing.ingest.writer import BatchWriter

log = logging.getLogger("banyan.ingest")


class Command(BaseCommand):
    help = "Consume readings (banyan/<community>/devices/<id>/readings) and frigate/events from MQTT."

    def add_arguments(self, parser):
        tuning = settings.BANYAN_INGEST
        parser.add_argument("--url", default=settings.BANYAN_MQTT_URL, help="broker, default BANYAN_MQTT_URL")
        parser.add_argument(
            "--community",
            default=None,
            help="the partition: consume only this community's devices (default: all)",
        )
        parser.add_argument(
            "--client-id",
            default=None,
            help="MQTT client id; the broker keeps the session under it (default: from host and partition)",
        )
        parser.add_argument(
            "--no-frigate",
            action="store_true",
            help="do not subscribe to frigate/events, frigate/<community>/events",
        )
        parser.add_argument("--batch-size", type=int, default=tuning["BATCH_SIZE"])
        parser.add_argument("--batch-wait-ms", type=int, default=tuning["BATCH_WAIT_MS"])
        parser.add_argument("--offline-sweep-s", type=float, default=tuning["OFFLINE_SWEEP_S"])

    def handle(self, *args, **options):
        parse_broker_url(options["url"])  # refuse a bad URL before starting
        tuning = settings.BANYAN_INGEST
        community = options["community"]
        config = IngestConfig(
            url=options["url"],
            client_id=options["client_id"] or default_client_id(community),
            community=community,
            frigate=not options["no_frigate"],
            batch_size=max(1, options["batch_size"]),
            batch_wait_s=max(0, options["batch_wait_ms"]) / 1000,
            offline_sweep_s=max(1.0, options["offline_sweep_s"]),
            backoff_max_s=tuning["BACKOFF_MAX_S"],
        )
        asyncio.run(self._run(config))
        return None

    async def _run(self, config: IngestConfig) -> None:
        worker = IngestWorker(config, BatchWriter(community=config.community, rules_factory=rule_pipeline))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.stop)
        log.info("ingest starting as client %s", config.client_id)
        await worker.run()
        c = worker.counters
        log.info(
            "ingest stopped: %d messages, %d readings stored, %d duplicates, %d dead letters",
            c.messages,
            c.accepted,
            c.duplicates,
            c.dead_letters,
        )
