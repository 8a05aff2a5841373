"""Writes guihuayuan-gcj02.geojson: a small community surveyed in GCJ-02, for the importer's tests.

The design is in metres around a WGS-84 centre in Hangzhou; every point is shifted to GCJ-02 with
banyan.places.crs.wgs84_to_gcj02 (itself tested against published reference points), as an Amap
coordinate picker would give it. The importer's tests check that the import brings them back.
Run from the repo root: .venv/bin/python banyan/places/tests/data/make_guihuayuan.py
"""
