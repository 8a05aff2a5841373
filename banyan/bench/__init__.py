"""Benchmarks: ``banyan bench rules|ingest|cockpit`` and the code they drive.

Not imported by any app; results are recorded in docs/benchmarks.md with the machine.
"""
