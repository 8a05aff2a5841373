"""The running processes of Banyan and how they wire the apps together.

``banyan serve`` (web, API, SSE), ``banyan ingest`` (MQTT readings through the rule engine into
alerts), ``banyan worker`` (background jobs), ``banyan simulate`` (the scenario simulator) and
``banyan demo`` (all of them in one process), with the Mosquitto launcher that the demo, the tests
and the benchmarks share. This package sits above every app: it may import any of them, and none
imports it (docs/adr/0008-processes-package.md).
"""
