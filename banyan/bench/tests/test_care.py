"""``banyan bench care``'s measuring half on the test database: a few residents are made vulnerable,
asked on their SMS channel and all answer through the inbound endpoint."""

from __future__ import annotations

import json

from banyan.bench.care import measure
from banyan.care.models import CarePlan, CheckIn


def test_the_care_bench_asks_everyone_and_records_every_reply(users, settings, tmp_path):
    settings.BANYAN_NOTIFY = {**settings.BANYAN_NOTIFY, "GATEWAY_TOKEN": "bench-test-token-0123456789"}
    out = tmp_path / "care.json"
    result = measure(residents=120, json_file=str(out), machine="test")
    assert json.loads(out.read_text()) == result
    assert CarePlan.objects.count() == 120
    assert result["requests_sent"] == result["sms_queued"] == 120
    assert result["replies_by_status"] == {"recorded": 120}
    assert result["checkins_recorded"] == CheckIn.objects.count() == 120
    assert result["need_help_incidents"] == 1  # every 100th says "2"
    assert result["requests_answered"] == 120
    assert result["queue_goal_met"] and result["reply_goal_met"]
