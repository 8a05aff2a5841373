"""The anchor file is forced to disk on every write, unless a throwaway database turned it off."""

from __future__ import annotations

import os

import pytest

from banyan.audit import services
from banyan.audit.services import Anchor


@pytest.mark.parametrize(("durable", "forced"), [(True, 2), (False, 0)])
def test_the_anchor_is_forced_to_disk_unless_turned_off(tmp_path, settings, monkeypatch, durable, forced):
    settings.AUDIT_ANCHOR_FSYNC = durable
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(services.os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    path = tmp_path / "audit.anchor"
    services._write_anchor(path, Anchor(7, "ab" * 32, "c" * 32))
    assert len(synced) == forced  # the file and its folder, or nothing
    assert services.read_anchor(path) == Anchor(7, "ab" * 32, "c" * 32)  # written either way
