"""A rule has a name in Chinese and one in English: each page and API answer shows the one of its
language, and the older one-field names ("多次跌倒 Two falls within 1 h") are split by the migration."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.utils import translation

from banyan.warning.models import Rule

split = importlib.import_module("banyan.warning.migrations.0005_rule_name_en")


def test_the_demo_rules_are_named_in_both_languages(db):
    rules = list(Rule.objects.all())
    assert rules
    for rule in rules:
        assert rule.name_en, rule.name
        assert not any(char.isascii() and char.isalpha() for char in rule.name), rule.name
        with translation.override("zh-hans"):
            assert rule.display_name == rule.name
        with translation.override("en"):
            assert rule.display_name == rule.name_en


def test_the_migration_splits_an_older_bilingual_name(db):
    rule = Rule.objects.order_by("pk").first()
    Rule.objects.filter(pk=rule.pk).update(name="多次跌倒 Two falls within 1 h", name_en="")
    Rule.objects.filter(pk=rule.pk + 1).update(name="只有中文", name_en="")

    split.split_bilingual_names(apps, None)

    assert Rule.objects.values_list("name", "name_en").get(pk=rule.pk) == ("多次跌倒", "Two falls within 1 h")
    assert Rule.objects.values_list("name", "name_en").get(pk=rule.pk + 1) == ("只有中文", "")


def test_the_alert_api_names_the_rule_in_the_request_language(db, api):
    from banyan.core import clock
    from banyan.warning.models import Alert

    rule = Rule.objects.filter(kind="threshold", community__code="330102001001").order_by("pk").first()
    now = clock.now()
    alert = Alert.objects.create(
        rule=rule, subject="WL-X", community=rule.community, grade="orange", raised_at=now, updated_at=now
    )
    client = api("director")
    for language, expected in (("zh-hans", rule.name), ("en", rule.name_en)):
        client.headers["Accept-Language"] = language
        assert client.get(f"alerts/{alert.pk}").data["rule_name"] == expected
