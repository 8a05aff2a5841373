"""``banyan tally FILE.json`` as an operator runs it: one JSON object out, exit 2 on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from banyan.community.votes.tests.factories import contract_json

REPO = Path(__file__).resolve().parents[4]
OWNERS = [("a", "89.5"), ("a", "60.25"), ("b", "100"), ("c", "100"), ("d", "50.25")]


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "vote.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _tally(path: Path) -> dict:
    out = io.StringIO()
    call_command("tally", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_prints_one_json_object_with_the_contract_keys(tmp_path):
    path = _write(tmp_path, contract_json(6, OWNERS, {"a": "yes", "b": "yes", "c": "yes", "d": "no"}))
    result = _tally(path)
    assert {key: result[key] for key in ("total_area", "participating_area", "yes_area")} == {
        "total_area": 400.0,
        "participating_area": 400.0,
        "yes_area": 349.75,
    }
    assert (result["total_heads"], result["participating_heads"], result["yes_heads"]) == (4, 4, 3)
    assert (result["quorum_met"], result["passed"]) == (True, True)
    assert all(isinstance(result[key], float) for key in ("total_area", "participating_area", "yes_area"))
    assert all(type(result[key]) is int for key in ("total_heads", "participating_heads", "yes_heads"))
    assert result["arithmetic"]["zh-Hans"][-1] == "结果：通过"


def test_areas_are_read_exactly_as_written(tmp_path):
    # 93.12 + 192.54 of 428.49 m² is exactly 2/3; read as floats it would fall just short.
    text = (
        '{"item": 1, "owners": [{"owner": "a", "unit": "1", "area": 93.12}, {"owner": "b", "unit": "2", '
        '"area": 192.54}, {"owner": "c", "unit": "3", "area": 142.83}], "ballots": [{"owner": "a", "choice": '
        '"yes"}, {"owner": "b", "choice": "yes"}]}'
    )
    result = _tally(_write(tmp_path, text))
    assert (result["quorum_met"], result["passed"]) == (True, True)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (contract_json(5, OWNERS, {"z": "yes"}), "ballots[0].owner: ballot from 'z', who owns no unit"),
        (contract_json(10, OWNERS, {}), "item: item 10 is not an item of Civil Code Art. 278"),
        (contract_json(5, [("a", "-1")], {}), "owners[0].area: area -1.0 is not accepted"),
        ("{not json", "not valid JSON (line 1, column 2"),
        ("[]", "the file is not an object"),
    ],
)
def test_bad_input_exits_2_naming_it(tmp_path, data, words):
    with pytest.raises(CommandError) as refused:
        _tally(_write(tmp_path, data))
    assert refused.value.returncode == 2
    assert words in str(refused.value)


def test_a_missing_file_exits_2(tmp_path):
    with pytest.raises(CommandError) as refused:
        _tally(tmp_path / "absent.json")
    assert refused.value.returncode == 2
    assert "cannot read the file" in str(refused.value)


def test_the_console_script_exits_2_with_the_reason_on_stderr(tmp_path):
    ballots = [{"owner": "a", "choice": "yes"}, {"owner": "a", "choice": "no"}]
    path = _write(tmp_path, {**contract_json(5, OWNERS, {}), "ballots": ballots})
    env = {**os.environ, "BANYAN_VAR_DIR": str(tmp_path / "var")}
    command = [sys.executable, "-m", "banyan", "tally", str(path)]
    refused = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout == ""
    assert "ballots[1].owner: a second ballot of 'a' (the first is ballots[0])" in refused.stderr


def test_the_worked_example_of_the_docs_prints_what_the_docs_show(tmp_path):
    text = (REPO / "docs" / "votes.md").read_text(encoding="utf-8")
    example, shown = (block.split("```", 1)[0] for block in text.split("```json\n")[1:3])
    assert _tally(_write(tmp_path, example)) == json.loads(shown)
