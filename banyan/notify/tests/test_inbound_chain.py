"""Inbound messages go down a chain: claiming handlers (added with ``add_handler``) in the order they were
added, each answering the messages it claims and None for the others, then the default handler
(``set_handler``: care's daily check-in) for what is left — in the order the messages came."""

from __future__ import annotations

import pytest

from banyan.notify import inbound
from banyan.notify.inbound import InboundAnswer, add_handler, receive_many, set_handler


@pytest.fixture
def chain():
    """Only this test's handlers (the apps' are put back after)."""
    claiming, default = list(inbound._claiming), inbound._handler
    inbound._claiming.clear()
    yield
    inbound._claiming[:] = claiming
    set_handler(default)


def claims(prefix: str, seen: list):
    def handler(messages):
        seen.append([m.text for m in messages])
        return [
            InboundAnswer("recorded", f"{prefix}:{m.text}") if m.text.startswith(prefix) else None
            for m in messages
        ]

    return handler


def test_claiming_handlers_come_first_and_the_default_answers_the_rest(chain):
    seen_a: list = []
    seen_b: list = []
    seen_default: list = []

    def default(messages):
        seen_default.append([m.text for m in messages])
        return [InboundAnswer("not_expected", f"default:{m.text}") for m in messages]

    set_handler(default)
    remove_a = add_handler(claims("a", seen_a))
    add_handler(claims("b", seen_b))
    items = [
        {"channel": "sms", "phone": f"1390000000{i}", "text": text}
        for i, text in enumerate(["a1", "b1", "c1", "a2"])
    ]
    answers = receive_many(items)
    assert [a.reply for a in answers] == ["a:a1", "b:b1", "default:c1", "a:a2"]
    assert seen_a == [["a1", "b1", "c1", "a2"]]
    assert seen_b == [["b1", "c1"]]  # only what the first left
    assert seen_default == [["c1"]]
    remove_a()
    answers = receive_many(items[:1])
    assert answers[0].reply == "default:a1"


def test_a_handler_is_added_once_and_the_default_can_be_reset(chain):
    seen: list = []
    handler = claims("a", seen)
    add_handler(handler)
    add_handler(handler)
    set_handler(None)
    answers = receive_many([{"channel": "sms", "phone": "13900000001", "text": "x"}])
    assert seen == [["x"]] and answers[0].status == "not_expected"
